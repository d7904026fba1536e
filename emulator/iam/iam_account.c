/*
 * iam_account.c — the account's own IAM settings: its alias (one per account,
 * as in AWS; creating another replaces it) and its password policy, which
 * login profiles are then checked against (PasswordPolicyViolation).
 */
#include "common/jsonutil.h"
#include "emulator/iam/iam_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* ---- aliases ---- */

static int alias_ok(const char *a) {
  size_t n = a ? strlen(a) : 0;
  if (n < 3 || n > 63 || a[0] == '-' || a[n - 1] == '-' || strstr(a, "--"))
    return 0;
  return strspn(a, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

IAM_HANDLER(iam_create_account_alias) {
  const char *alias = jsonutil_string(input, "AccountAlias");
  if (!alias_ok(alias))
    return iam_fail(c, 400, "ValidationError",
                    "1 validation error detected: Value '%.63s' at 'accountAlias' failed to "
                    "satisfy constraint: Member must satisfy regular expression pattern: "
                    "^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$",
                    alias ? alias : "");
  /* Aliases are unique across accounts. */
  const char *account;
  json_t *acct;
  json_object_foreach(c->st->accounts, account, acct) {
    const char *have = jsonutil_string(acct, "alias");
    if (have && !strcmp(have, alias) && strcmp(account, c->account) != 0)
      return iam_fail(c, 409, "EntityAlreadyExists", "The account alias %s already exists.", alias);
  }
  json_object_set_new(c->acct, "alias", json_string(alias));
  return NULL;
}

IAM_HANDLER(iam_delete_account_alias) {
  const char *alias = jsonutil_string(input, "AccountAlias");
  const char *have = jsonutil_string(c->acct, "alias");
  if (!alias || !have || strcmp(alias, have) != 0)
    return iam_no_entity(c, "The account alias %.63s cannot be found.", alias ? alias : "");
  json_object_del(c->acct, "alias");
  return NULL;
}

IAM_HANDLER(iam_list_account_aliases) {
  const char *have = jsonutil_string(c->acct, "alias");
  json_t *items = json_array();
  if (have)
    json_array_append_new(items, json_string(have));
  return iam_page(c, input, items, "AccountAliases", json_object());
}

/* ---- the password policy ---- */

static int int_in(iam_ctx *c, json_t *input, const char *member, const char *label, int lo,
                  int hi) {
  json_t *v = json_object_get(input, member);
  if (!v)
    return 0;
  json_int_t n = json_integer_value(v);
  if (n < lo || n > hi) {
    iam_fail(c, 400, "ValidationError",
             "1 validation error detected: Value '%lld' at '%s' failed to satisfy constraint: "
             "Member must have value %s %d",
             (long long)n, label, n < lo ? "greater than or equal to" : "less than or equal to",
             n < lo ? lo : hi);
    return -1;
  }
  return 0;
}

IAM_HANDLER(iam_update_password_policy) {
  if (int_in(c, input, "MinimumPasswordLength", "minimumPasswordLength", 6, 128) < 0 ||
      int_in(c, input, "MaxPasswordAge", "maxPasswordAge", 1, 1095) < 0 ||
      int_in(c, input, "PasswordReusePrevention", "passwordReusePrevention", 1, 24) < 0)
    return NULL;
  static const char *flags[] = {"RequireSymbols", "RequireNumbers", "RequireUppercaseCharacters",
                                "RequireLowercaseCharacters", "HardExpiry"};
  json_t *p = json_object();
  json_t *len = json_object_get(input, "MinimumPasswordLength");
  json_object_set_new(p, "MinimumPasswordLength", len ? json_copy(len) : json_integer(6));
  for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
    json_object_set_new(p, flags[i], json_boolean(json_is_true(json_object_get(input, flags[i]))));
  json_t *change = json_object_get(input, "AllowUsersToChangePassword");
  json_object_set_new(p, "AllowUsersToChangePassword", json_boolean(json_is_true(change)));
  json_t *age = json_object_get(input, "MaxPasswordAge");
  json_object_set_new(p, "ExpirePasswords", json_boolean(age != NULL));
  if (age)
    json_object_set(p, "MaxPasswordAge", age);
  json_t *reuse = json_object_get(input, "PasswordReusePrevention");
  if (reuse)
    json_object_set(p, "PasswordReusePrevention", reuse);
  json_object_set_new(c->acct, "password_policy", p);
  return NULL;
}

static json_t *policy_of(iam_ctx *c) {
  json_t *p = json_object_get(c->acct, "password_policy");
  if (!p)
    iam_no_entity(c, "The Password Policy with domain name %s cannot be found.", c->account);
  return p;
}

IAM_HANDLER(iam_get_password_policy) {
  (void)input;
  json_t *p = policy_of(c);
  return p ? json_pack("{s:O}", "PasswordPolicy", p) : NULL;
}

IAM_HANDLER(iam_delete_password_policy) {
  (void)input;
  if (policy_of(c))
    json_object_del(c->acct, "password_policy");
  return NULL;
}

int iam_password_check(iam_ctx *c, const char *password) {
  json_t *p = json_object_get(c->acct, "password_policy");
  if (!p || !password)
    return 0;
  size_t n = strlen(password);
  int upper = 0, lower = 0, digit = 0, symbol = 0;
  for (const char *s = password; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    upper |= isupper(ch) != 0;
    lower |= islower(ch) != 0;
    digit |= isdigit(ch) != 0;
    symbol |= strchr("!@#$%^&*()_+-=[]{}|'", ch) != NULL && ch;
  }
  const char *why = NULL;
  char buf[96];
  json_int_t min = json_integer_value(json_object_get(p, "MinimumPasswordLength"));
  if ((json_int_t)n < min) {
    snprintf(buf, sizeof(buf), "Password should have a minimum length of %lld", (long long)min);
    why = buf;
  } else if (json_is_true(json_object_get(p, "RequireUppercaseCharacters")) && !upper)
    why = "Password should have at least one uppercase letter";
  else if (json_is_true(json_object_get(p, "RequireLowercaseCharacters")) && !lower)
    why = "Password should have at least one lowercase letter";
  else if (json_is_true(json_object_get(p, "RequireNumbers")) && !digit)
    why = "Password should have at least one number";
  else if (json_is_true(json_object_get(p, "RequireSymbols")) && !symbol)
    why = "Password should have at least one symbol";
  if (why) {
    iam_fail(c, 400, "PasswordPolicyViolation", "%s", why);
    return -1;
  }
  return 0;
}
