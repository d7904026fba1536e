/*
 * iam_mfa.c — virtual MFA devices: CreateVirtualMFADevice, EnableMFADevice,
 * ResyncMFADevice, DeactivateMFADevice, DeleteVirtualMFADevice, ListMFADevices,
 * ListVirtualMFADevices and their tags.
 *
 * A device is a real TOTP authenticator (RFC 6238: HMAC-SHA-1 over 30-second
 * steps, six digits) with a random 20-byte seed, handed out as AWS does, base32
 * in Base32StringSeed. Enabling and resynchronising check the two codes the way
 * AWS does: two consecutive codes of the seed, taken within the last five
 * minutes (or the next step, for a clock a little ahead). So a test can enrol a
 * device with any authenticator library. QRCodePNG is not produced: drawing a QR
 * code needs a library the project does not have (the seed is all a client needs).
 *
 * Devices live in the account's "mfa" map, keyed by serial number (the device's
 * ARN); an enabled one names its user in _user and is listed on the user's
 * record in _mfa.
 */
#include "emulator/iam/iam_int.h"

#include "common/codec.h"
#include "common/jsonutil.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define MFA_SEED_BYTES 20
#define MFA_STEP_SECONDS 30
#define MFA_LOOKBACK_STEPS 10 /* five minutes of codes */
#define MFA_MAX_PER_USER 8    /* AWS: up to eight MFA devices per user */
#define MFA_NAME_MAX 226

static void base32_encode(char *out, const unsigned char *in, size_t n) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  size_t o = 0;
  unsigned buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    buffer = buffer << 8 | in[i];
    bits += 8;
    while (bits >= 5) {
      out[o++] = alphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0)
    out[o++] = alphabet[(buffer << (5 - bits)) & 31];
  out[o] = '\0';
}

static int base32_decode(unsigned char *out, size_t max, const char *in, size_t *len) {
  size_t o = 0;
  unsigned buffer = 0;
  int bits = 0;
  for (; *in && *in != '='; in++) {
    const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const char *p = strchr(a, *in);
    if (!p)
      return -1;
    buffer = buffer << 5 | (unsigned)(p - a);
    bits += 5;
    if (bits >= 8) {
      if (o == max)
        return -1;
      out[o++] = (unsigned char)(buffer >> (bits - 8));
      bits -= 8;
    }
  }
  *len = o;
  return 0;
}

/* The six-digit TOTP code of seed for time step. */
static unsigned totp(const unsigned char *seed, size_t seed_len, uint64_t step) {
  unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
  unsigned mac_len = 0;
  for (int i = 7; i >= 0; i--) {
    msg[i] = (unsigned char)step;
    step >>= 8;
  }
  HMAC(EVP_sha1(), seed, (int)seed_len, msg, sizeof(msg), mac, &mac_len);
  unsigned off = mac[mac_len - 1] & 0x0F;
  unsigned v = (unsigned)(mac[off] & 0x7F) << 24 | (unsigned)mac[off + 1] << 16 |
               (unsigned)mac[off + 2] << 8 | mac[off + 3];
  return v % 1000000;
}

/* Checks AuthenticationCode1 and 2: both six digits (else ValidationError),
 * consecutive codes of the device (else InvalidAuthenticationCode). -1 after
 * answering. */
static int check_codes(iam_ctx *c, const json_t *device, json_t *input) {
  const char *members[2] = {"AuthenticationCode1", "AuthenticationCode2"};
  const char *labels[2] = {"authenticationCode1", "authenticationCode2"};
  unsigned codes[2];
  for (int i = 0; i < 2; i++) {
    const char *code = jsonutil_string(input, members[i]);
    if (!code || strlen(code) != 6 || strspn(code, "0123456789") != 6) {
      iam_fail(c, 400, "ValidationError",
               "1 validation error detected: Value '%.16s' at '%s' failed to satisfy constraint: "
               "Member must satisfy regular expression pattern: [\\d]+ and have length 6",
               code ? code : "null", labels[i]);
      return -1;
    }
    codes[i] = (unsigned)strtoul(code, NULL, 10);
  }
  unsigned char seed[64];
  size_t seed_len = 0;
  if (base32_decode(seed, sizeof(seed), jsonutil_string(device, "_seed"), &seed_len) < 0)
    seed_len = 0;
  uint64_t now = (uint64_t)iam_now() / MFA_STEP_SECONDS;
  for (uint64_t back = 0; seed_len && back <= MFA_LOOKBACK_STEPS; back++) {
    uint64_t step = now + 1 - back;
    if (totp(seed, seed_len, step - 1) == codes[0] && totp(seed, seed_len, step) == codes[1])
      return 0;
  }
  iam_fail(c, 403, "InvalidAuthenticationCode", "Authentication code for device is not valid.");
  return -1;
}

/* The device named by input's SerialNumber; NULL after NoSuchEntity. */
static json_t *device_of(iam_ctx *c, json_t *input) {
  const char *serial = jsonutil_string(input, "SerialNumber");
  json_t *device = serial ? json_object_get(iam_map(c, "mfa"), serial) : NULL;
  if (!device)
    iam_no_entity(c, "VirtualMFADevice with serial number %.256s doesn't exist.",
                  serial ? serial : "");
  return device;
}

IAM_HANDLER(iam_create_virtual_mfa_device) {
  if (iam_check_name(c, input, "VirtualMFADeviceName", MFA_NAME_MAX, 1) < 0 ||
      iam_check_path(c, input, "Path") < 0)
    return NULL;
  const char *name = jsonutil_string(input, "VirtualMFADeviceName");
  const char *path = jsonutil_string(input, "Path");
  if (!path)
    path = "/";
  json_t *devices = iam_map(c, "mfa");
  const char *serial;
  json_t *device;
  json_object_foreach(devices, serial, device) {
    if (!strcasecmp(jsonutil_string(device, "_name"), name))
      return iam_fail(c, 409, "EntityAlreadyExists",
                      "MFADevice entity at the same path and name already exists.");
  }
  unsigned char seed[MFA_SEED_BYTES];
  if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
    return iam_fail(c, 500, "ServiceFailure", "No randomness for the device's seed.");
  char seed32[40];
  base32_encode(seed32, seed, sizeof(seed));
  char *arn = iam_arn(c, "mfa", path, name);
  if (!arn)
    return iam_fail(c, 500, "ServiceFailure", "Out of memory.");
  device = json_pack("{s:s, s:s, s:s, s:s}", "SerialNumber", arn, "_name", name, "_path", path,
                     "_seed", seed32);
  if (json_object_get(input, "Tags") && iam_tags_merge(c, device, input) < 0) {
    json_decref(device);
    free(arn);
    return NULL;
  }
  json_object_set_new(devices, arn, device);
  free(arn);
  /* Base32StringSeed is a blob of the base32 text: its base64 on the wire. */
  char *b64 = codec_base64_encode(seed32, strlen(seed32));
  json_t *out = json_pack("{s:O, s:s}", "SerialNumber", json_object_get(device, "SerialNumber"),
                          "Base32StringSeed", b64 ? b64 : "");
  free(b64);
  if (json_object_get(device, "Tags"))
    json_object_set(out, "Tags", json_object_get(device, "Tags"));
  return json_pack("{s:o}", "VirtualMFADevice", out);
}

IAM_HANDLER(iam_enable_mfa_device) {
  json_t *user = iam_principal(c, IAM_USER, input);
  json_t *device = user ? device_of(c, input) : NULL;
  if (!device)
    return NULL;
  if (json_object_get(device, "_user"))
    return iam_fail(c, 409, "EntityAlreadyExists", "MFA Device is already in use.");
  json_t *mine = json_object_get(user, "_mfa");
  if (json_array_size(mine) >= MFA_MAX_PER_USER)
    return iam_fail(c, 409, "LimitExceeded", "Cannot exceed quota for MFADevicesPerUser: %d",
                    MFA_MAX_PER_USER);
  if (check_codes(c, device, input) < 0)
    return NULL;
  if (!mine) {
    mine = json_array();
    json_object_set_new(user, "_mfa", mine);
  }
  json_array_append(mine, json_object_get(device, "SerialNumber"));
  json_object_set_new(device, "_user", json_string(jsonutil_string(user, "UserName")));
  json_object_set_new(device, "EnableDate", json_real(iam_now()));
  return NULL;
}

/* The device input names, enabled for the user input names (or the caller);
 * NULL after NoSuchEntity. */
static json_t *assigned_device(iam_ctx *c, json_t *input, json_t **user_out) {
  json_t *user = iam_credential_owner(c, input);
  json_t *device = user ? device_of(c, input) : NULL;
  if (!device)
    return NULL;
  const char *owner = jsonutil_string(device, "_user");
  const char *name = jsonutil_string(user, "UserName");
  if (!owner || !name || strcasecmp(owner, name) != 0)
    return iam_no_entity(c, "MFA Device with serial number %.256s is not enabled for user %.64s.",
                         jsonutil_string(device, "SerialNumber"), name ? name : "root");
  *user_out = user;
  return device;
}

IAM_HANDLER(iam_resync_mfa_device) {
  json_t *user = NULL;
  json_t *device = assigned_device(c, input, &user);
  if (device)
    check_codes(c, device, input);
  return NULL;
}

/* Forgets device's user (the device stays, unassigned). */
static void unassign(json_t *user, json_t *device) {
  json_t *mine = json_object_get(user, "_mfa");
  const char *serial = jsonutil_string(device, "SerialNumber");
  for (size_t i = 0; i < json_array_size(mine); i++)
    if (!strcmp(json_string_value(json_array_get(mine, i)), serial)) {
      json_array_remove(mine, i);
      break;
    }
  json_object_del(device, "_user");
  json_object_del(device, "EnableDate");
}

IAM_HANDLER(iam_deactivate_mfa_device) {
  json_t *user = NULL;
  json_t *device = assigned_device(c, input, &user);
  if (device)
    unassign(user, device);
  return NULL;
}

IAM_HANDLER(iam_delete_virtual_mfa_device) {
  json_t *device = device_of(c, input);
  if (!device)
    return NULL;
  if (json_object_get(device, "_user"))
    return iam_fail(c, 409, "DeleteConflict", "MFA Device is still in use");
  json_object_del(iam_map(c, "mfa"), jsonutil_string(input, "SerialNumber"));
  return NULL;
}

IAM_HANDLER(iam_list_mfa_devices) {
  json_t *user = iam_credential_owner(c, input);
  if (!user)
    return NULL;
  json_t *items = json_array();
  json_t *mine = json_object_get(user, "_mfa");
  for (size_t i = 0; i < json_array_size(mine); i++) {
    json_t *device = json_object_get(iam_map(c, "mfa"), json_string_value(json_array_get(mine, i)));
    if (device)
      json_array_append_new(items, json_pack("{s:s, s:O, s:O}", "UserName",
                                             jsonutil_string(user, "UserName"), "SerialNumber",
                                             json_object_get(device, "SerialNumber"), "EnableDate",
                                             json_object_get(device, "EnableDate")));
  }
  return iam_page(c, input, items, "MFADevices", json_object());
}

IAM_HANDLER(iam_list_virtual_mfa_devices) {
  const char *status = jsonutil_string(input, "AssignmentStatus");
  if (!status)
    status = "Any";
  if (strcmp(status, "Assigned") != 0 && strcmp(status, "Unassigned") != 0 &&
      strcmp(status, "Any") != 0)
    return iam_fail(c, 400, "ValidationError",
                    "1 validation error detected: Value '%.32s' at 'assignmentStatus' failed to "
                    "satisfy constraint: Member must satisfy enum value set: [Assigned, "
                    "Unassigned, Any]",
                    status);
  json_t *items = json_array();
  const char *serial;
  json_t *device;
  json_object_foreach(iam_map(c, "mfa"), serial, device) {
    const char *owner = jsonutil_string(device, "_user");
    if ((owner && !strcmp(status, "Unassigned")) || (!owner && !strcmp(status, "Assigned")))
      continue;
    json_t *item = json_pack("{s:s}", "SerialNumber", serial);
    json_t *user = owner ? iam_get(iam_map(c, "users"), owner) : NULL;
    if (user) {
      json_object_set_new(item, "User", iam_public(user));
      json_object_set(item, "EnableDate", json_object_get(device, "EnableDate"));
    }
    if (json_array_size(json_object_get(device, "Tags")))
      json_object_set(item, "Tags", json_object_get(device, "Tags"));
    json_array_append_new(items, item);
  }
  return iam_page(c, input, items, "VirtualMFADevices", json_object());
}

IAM_HANDLER(iam_tag_mfa_device) {
  json_t *device = device_of(c, input);
  if (device)
    iam_tags_merge(c, device, input);
  return NULL;
}

IAM_HANDLER(iam_untag_mfa_device) {
  json_t *device = device_of(c, input);
  if (device)
    iam_tags_remove(c, device, input);
  return NULL;
}

IAM_HANDLER(iam_list_mfa_device_tags) {
  json_t *device = device_of(c, input);
  return device ? iam_tags_page(c, device, input) : NULL;
}
