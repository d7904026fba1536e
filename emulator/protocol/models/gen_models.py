#!/usr/bin/python3
"""gen_models.py — embeds the botocore service models the emulator serves.

Reads service-2.json for each named service from Debian's python3-botocore
(<data>/<service>/<newest version>/service-2.json), drops what the emulator
never reads (documentation strings, examples, regex patterns), applies a few
small overlays (SQS is also served over the JSON protocol, as current SDKs
speak it; STS gains AssumeRoot), and writes one C source that holds each model as a string constant
plus a table (see emulator/protocol/model.h). Run by CMake at build time:

    gen_models.py <botocore data dir> <output.c> <service>...
"""
import json
import os
import sys

DROP_KEYS = {"documentation", "documentationUrl", "examples", "pattern", "sensitive",
             "deprecatedMessage", "contextParam", "staticContextParams", "endpointdiscovery",
             "endpointoperation", "clientContextParams"}


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in DROP_KEYS}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def newest_model(data_dir, service):
    base = os.path.join(data_dir, service)
    versions = sorted(v for v in os.listdir(base)
                      if os.path.isfile(os.path.join(base, v, "service-2.json")))
    if not versions:
        sys.exit("gen_models.py: no service-2.json for %s under %s" % (service, base))
    return os.path.join(base, versions[-1], "service-2.json")


def overlay(service, model):
    meta = model["metadata"]
    if service == "sqs" and meta.get("protocol") == "query":
        # Current SDKs speak SQS over JSON 1.0 (X-Amz-Target: AmazonSQS.<Op>) and read
        # the query error code from x-amzn-query-error; newer botocore models say so
        # with these metadata keys. Older models (Debian's 1.29) lack them.
        meta.setdefault("awsQueryCompatible", {})
        meta.setdefault("jsonVersion", "1.0")
        meta.setdefault("targetPrefix", "AmazonSQS")
        req = model["shapes"]["ReceiveMessageRequest"]["members"]
        if "MessageSystemAttributeNames" not in req:
            # Newer SDKs send this instead of AttributeNames (query name
            # "MessageSystemAttributeName.N", as in newer models).
            model["shapes"].setdefault("MessageSystemAttributeList", {
                "type": "list", "flattened": True,
                "member": {"shape": "QueueAttributeName",
                           "locationName": "MessageSystemAttributeName"}})
            req["MessageSystemAttributeNames"] = {"shape": "MessageSystemAttributeList"}
        sqs_overlay(model["operations"], model["shapes"])
    if service == "sts" and "AssumeRoot" not in model["operations"]:
        sts_overlay(model["operations"], model["shapes"])
    if service == "dynamodb":
        # Members newer models have and Debian's 1.29 lacks; without them the
        # protocol layer drops what current SDKs send.
        shapes = model["shapes"]
        shapes.setdefault("DeletionProtectionEnabled", {"type": "boolean"})
        for name in ("CreateTableInput", "UpdateTableInput", "TableDescription"):
            shapes[name]["members"].setdefault("DeletionProtectionEnabled",
                                               {"shape": "DeletionProtectionEnabled"})
        if "ReturnValuesOnConditionCheckFailure" in shapes:
            for name in ("PutItemInput", "UpdateItemInput", "DeleteItemInput"):
                shapes[name]["members"].setdefault(
                    "ReturnValuesOnConditionCheckFailure",
                    {"shape": "ReturnValuesOnConditionCheckFailure"})
        shapes["ConditionalCheckFailedException"]["members"].setdefault(
            "Item", {"shape": "AttributeMap"})
    if service == "secretsmanager" and "BatchGetSecretValue" not in model["operations"]:
        # Debian's botocore (1.29) predates BatchGetSecretValue (Nov 2023);
        # current SDKs send it. Shapes as in the newer model.
        sh = model["shapes"]
        sh["SecretIdListType"] = {"type": "list", "member": {"shape": "SecretIdType"},
                                  "min": 1, "max": 20}
        sh["MaxResultsBatchType"] = {"type": "integer", "min": 1, "max": 20}
        sh["SecretValueEntry"] = {"type": "structure", "members": {
            "ARN": {"shape": "SecretARNType"}, "Name": {"shape": "SecretNameType"},
            "VersionId": {"shape": "SecretVersionIdType"},
            "SecretBinary": {"shape": "SecretBinaryType"},
            "SecretString": {"shape": "SecretStringType"},
            "VersionStages": {"shape": "SecretVersionStagesType"},
            "CreatedDate": {"shape": "CreatedDateType"}}}
        sh["SecretValuesType"] = {"type": "list", "member": {"shape": "SecretValueEntry"}}
        sh["APIErrorType"] = {"type": "structure", "members": {
            "SecretId": {"shape": "SecretIdType"}, "ErrorCode": {"shape": "ErrorCode"},
            "Message": {"shape": "ErrorMessage"}}}
        sh.setdefault("ErrorCode", {"type": "string"})
        sh.setdefault("ErrorMessage", {"type": "string"})
        sh["APIErrorListType"] = {"type": "list", "member": {"shape": "APIErrorType"}}
        sh["BatchGetSecretValueRequest"] = {"type": "structure", "members": {
            "SecretIdList": {"shape": "SecretIdListType"}, "Filters": {"shape": "FiltersListType"},
            "MaxResults": {"shape": "MaxResultsBatchType"},
            "NextToken": {"shape": "NextTokenType"}}}
        sh["BatchGetSecretValueResponse"] = {"type": "structure", "members": {
            "SecretValues": {"shape": "SecretValuesType"}, "NextToken": {"shape": "NextTokenType"},
            "Errors": {"shape": "APIErrorListType"}}}
        model["operations"]["BatchGetSecretValue"] = {
            "name": "BatchGetSecretValue", "http": {"method": "POST", "requestUri": "/"},
            "input": {"shape": "BatchGetSecretValueRequest"},
            "output": {"shape": "BatchGetSecretValueResponse"},
            "errors": [{"shape": s} for s in (
                "ResourceNotFoundException", "InvalidParameterException",
                "InvalidRequestException", "DecryptionFailure", "InternalServiceError",
                "InvalidNextTokenException")]}
    if service == "logs" and "LogGroupClass" not in model["shapes"]:
        # Log group classes (Nov 2023) and LogGroup.logGroupArn postdate
        # Debian's botocore; current SDKs send and read them.
        sh = model["shapes"]
        sh["LogGroupClass"] = {"type": "string",
                               "enum": ["STANDARD", "INFREQUENT_ACCESS", "DELIVERY"]}
        sh["CreateLogGroupRequest"]["members"]["logGroupClass"] = {"shape": "LogGroupClass"}
        sh["DescribeLogGroupsRequest"]["members"]["logGroupClass"] = {"shape": "LogGroupClass"}
        sh["LogGroup"]["members"]["logGroupClass"] = {"shape": "LogGroupClass"}
        sh["LogGroup"]["members"]["logGroupArn"] = {"shape": "Arn"}
    if service == "s3":
        # The model leaves the XML root element names of S3 responses unsaid;
        # clients ignore them, but people reading responses expect S3's own.
        meta.setdefault("xmlNamespace", "http://s3.amazonaws.com/doc/2006-03-01/")
        roots = {
            "ListObjectsOutput": "ListBucketResult",
            "ListObjectsV2Output": "ListBucketResult",
            "ListBucketsOutput": "ListAllMyBucketsResult",
            "ListObjectVersionsOutput": "ListVersionsResult",
            "CreateMultipartUploadOutput": "InitiateMultipartUploadResult",
            "CompleteMultipartUploadOutput": "CompleteMultipartUploadResult",
            "ListMultipartUploadsOutput": "ListMultipartUploadsResult",
            "ListPartsOutput": "ListPartsResult",
            "DeleteObjectsOutput": "DeleteResult",
            "GetBucketTaggingOutput": "Tagging",
            "GetObjectTaggingOutput": "Tagging",
            "GetBucketVersioningOutput": "VersioningConfiguration",
            "GetBucketAclOutput": "AccessControlPolicy",
            "GetObjectAclOutput": "AccessControlPolicy",
            "GetBucketCorsOutput": "CORSConfiguration",
            "GetBucketLifecycleConfigurationOutput": "LifecycleConfiguration",
            "GetBucketLocationOutput": "LocationConstraint",
            "GetBucketWebsiteOutput": "WebsiteConfiguration",
            "GetBucketLoggingOutput": "BucketLoggingStatus",
            "GetObjectAttributesOutput": "GetObjectAttributesResponse",
        }
        for shape, root in roots.items():
            if shape in model["shapes"]:
                model["shapes"][shape].setdefault("locationName", root)
    if service == "kinesis":
        kinesis_overlay(model["operations"], model["shapes"])
    if service == "lambda":
        lambda_overlay(model["operations"], model["shapes"])
    return model


def sts_overlay(operations, shapes):
    # AssumeRoot (centralized root access, 2024), which current SDKs have and
    # Debian's 1.29 model lacks: the shapes of AWS's STS API reference.
    operations["AssumeRoot"] = {
        "name": "AssumeRoot", "http": {"method": "POST", "requestUri": "/"},
        "input": {"shape": "AssumeRootRequest"},
        "output": {"shape": "AssumeRootResponse", "resultWrapper": "AssumeRootResult"},
        "errors": [{"shape": "RegionDisabledException"}, {"shape": "ExpiredTokenException"}]}
    shapes["AssumeRootRequest"] = {
        "type": "structure", "required": ["TargetPrincipal", "TaskPolicyArn"],
        "members": {"TargetPrincipal": {"shape": "TargetPrincipalType"},
                    "TaskPolicyArn": {"shape": "PolicyDescriptorType"},
                    "DurationSeconds": {"shape": "RootDurationSecondsType"}}}
    shapes["AssumeRootResponse"] = {
        "type": "structure",
        "members": {"Credentials": {"shape": "Credentials"},
                    "SourceIdentity": {"shape": "sourceIdentityType"}}}
    shapes["TargetPrincipalType"] = {"type": "string", "max": 2048, "min": 12}
    shapes["RootDurationSecondsType"] = {"type": "integer", "max": 900, "min": 0}


def sqs_overlay(operations, shapes):
    # Message move tasks (DLQ redrive, 2023) postdate Debian's 1.29 model;
    # shapes, errors and result wrappers as in the newer model. The newer
    # model also answers ReceiptHandleIsInvalid with 404 (query code
    # ReceiptHandleIsInvalid), as AWS does.
    def struct(members, required=()):
        shape = {"type": "structure", "members": {k: {"shape": v} for k, v in members.items()}}
        if required:
            shape["required"] = list(required)
        return shape

    def error(code, status):
        return {"type": "structure", "members": {"message": {"shape": "ExceptionMessage"}},
                "error": {"code": code, "httpStatusCode": status, "senderFault": True},
                "exception": True}

    shapes.setdefault("ExceptionMessage", {"type": "string"})
    shapes.setdefault("NullableInteger", {"type": "integer"})
    shapes.setdefault("Long", {"type": "long"})
    shapes.setdefault("NullableLong", {"type": "long"})
    shapes.setdefault("ResourceNotFoundException", error("ResourceNotFoundException", 404))
    shapes.setdefault("RequestThrottled", error("RequestThrottled", 403))
    shapes.setdefault("InvalidAddress", error("InvalidAddress", 404))
    shapes.setdefault("InvalidSecurity", error("InvalidSecurity", 403))
    # AWS's JSON answers name the generic query errors with these types
    # (x-amzn-query-error keeps the query code): InvalidParameterValue is
    # InvalidParameterValueException, MissingParameter
    # MissingRequiredParameterException. Listing them on every operation
    # lets the serializer find them by query code.
    for name, code in (("InvalidParameterValueException", "InvalidParameterValue"),
                       ("MissingRequiredParameterException", "MissingParameter")):
        shapes.setdefault(name, error(code, 400))
        for op in operations.values():
            refs = op.setdefault("errors", [])
            if {"shape": name} not in refs:
                refs.append({"shape": name})
    rhi = shapes.get("ReceiptHandleIsInvalid")
    if rhi is not None and "error" not in rhi:
        rhi["error"] = {"code": "ReceiptHandleIsInvalid", "httpStatusCode": 404,
                        "senderFault": True}
    if "StartMessageMoveTask" in operations:
        return
    shapes["StartMessageMoveTaskRequest"] = struct(
        {"SourceArn": "String", "DestinationArn": "String",
         "MaxNumberOfMessagesPerSecond": "NullableInteger"}, ["SourceArn"])
    shapes["StartMessageMoveTaskResult"] = struct({"TaskHandle": "String"})
    shapes["CancelMessageMoveTaskRequest"] = struct({"TaskHandle": "String"}, ["TaskHandle"])
    shapes["CancelMessageMoveTaskResult"] = struct({"ApproximateNumberOfMessagesMoved": "Long"})
    shapes["ListMessageMoveTasksRequest"] = struct(
        {"SourceArn": "String", "MaxResults": "NullableInteger"}, ["SourceArn"])
    shapes["ListMessageMoveTasksResultEntry"] = struct(
        {"TaskHandle": "String", "Status": "String", "SourceArn": "String",
         "DestinationArn": "String", "MaxNumberOfMessagesPerSecond": "NullableInteger",
         "ApproximateNumberOfMessagesMoved": "Long",
         "ApproximateNumberOfMessagesToMove": "NullableLong", "FailureReason": "String",
         "StartedTimestamp": "Long"})
    shapes["ListMessageMoveTasksResultEntryList"] = {
        "type": "list", "member": {"shape": "ListMessageMoveTasksResultEntry",
                                   "locationName": "ListMessageMoveTasksResultEntry"},
        "flattened": True}
    shapes["ListMessageMoveTasksResult"] = {
        "type": "structure", "locationName": "ListMessageMoveTasksResult",
        "members": {"Results": {"shape": "ListMessageMoveTasksResultEntryList",
                                "locationName": "ListMessageMoveTasksResultEntry"}}}
    errors = [{"shape": e} for e in ("RequestThrottled", "InvalidAddress", "InvalidSecurity",
                                     "ResourceNotFoundException", "UnsupportedOperation")]
    for op in ("StartMessageMoveTask", "CancelMessageMoveTask", "ListMessageMoveTasks"):
        operations[op] = {"name": op, "http": {"method": "POST", "requestUri": "/"},
                          "input": {"shape": op + "Request"},
                          "output": {"shape": op + "Result", "resultWrapper": op + "Result"},
                          "errors": errors}


def lambda_overlay(operations, shapes):
    # InvokeWithResponseStream and LoggingConfig (log format and group) came
    # after Debian's 1.29 model; add them as newer models have them so current
    # SDKs' requests parse and keep their members.
    if "InvokeWithResponseStream" not in operations:
        operations["InvokeWithResponseStream"] = {
            "name": "InvokeWithResponseStream",
            "http": {"method": "POST", "responseCode": 200,
                     "requestUri": "/2021-11-15/functions/{FunctionName}/response-streaming-invocations"},
            "input": {"shape": "InvokeWithResponseStreamRequest"},
            "output": {"shape": "InvokeWithResponseStreamResponse"},
            "errors": [{"shape": "ServiceException"}, {"shape": "ResourceNotFoundException"},
                       {"shape": "InvalidRequestContentException"},
                       {"shape": "RequestTooLargeException"},
                       {"shape": "TooManyRequestsException"},
                       {"shape": "InvalidParameterValueException"},
                       {"shape": "ResourceConflictException"}]}
        shapes["ResponseStreamingInvocationType"] = {"type": "string",
                                                     "enum": ["RequestResponse", "DryRun"]}
        shapes["InvokeWithResponseStreamRequest"] = {
            "type": "structure", "required": ["FunctionName"], "payload": "Payload",
            "members": {
                "FunctionName": {"shape": "NamespacedFunctionName", "location": "uri",
                                 "locationName": "FunctionName"},
                "InvocationType": {"shape": "ResponseStreamingInvocationType",
                                   "location": "header", "locationName": "X-Amz-Invocation-Type"},
                "LogType": {"shape": "LogType", "location": "header",
                            "locationName": "X-Amz-Log-Type"},
                "ClientContext": {"shape": "String", "location": "header",
                                  "locationName": "X-Amz-Client-Context"},
                "Qualifier": {"shape": "Qualifier", "location": "querystring",
                              "locationName": "Qualifier"},
                "Payload": {"shape": "Blob"}}}
        shapes["InvokeResponseStreamUpdate"] = {
            "type": "structure", "event": True,
            "members": {"Payload": {"shape": "Blob", "eventpayload": True}}}
        shapes["InvokeWithResponseStreamCompleteEvent"] = {
            "type": "structure", "event": True,
            "members": {"ErrorCode": {"shape": "String"}, "ErrorDetails": {"shape": "String"},
                        "LogResult": {"shape": "String"}}}
        shapes["InvokeWithResponseStreamResponseEvent"] = {
            "type": "structure", "eventstream": True,
            "members": {"PayloadChunk": {"shape": "InvokeResponseStreamUpdate"},
                        "InvokeComplete": {"shape": "InvokeWithResponseStreamCompleteEvent"}}}
        shapes["InvokeWithResponseStreamResponse"] = {
            "type": "structure", "payload": "EventStream",
            "members": {
                "StatusCode": {"shape": "Integer", "location": "statusCode"},
                "ExecutedVersion": {"shape": "Version", "location": "header",
                                    "locationName": "X-Amz-Executed-Version"},
                "EventStream": {"shape": "InvokeWithResponseStreamResponseEvent"},
                "ResponseStreamContentType": {"shape": "String", "location": "header",
                                              "locationName": "Content-Type"}}}
    # Function URLs' InvokeMode (BUFFERED, RESPONSE_STREAM) came with it.
    if "InvokeMode" not in shapes:
        shapes["InvokeMode"] = {"type": "string", "enum": ["BUFFERED", "RESPONSE_STREAM"]}
        for name in ("CreateFunctionUrlConfigRequest", "CreateFunctionUrlConfigResponse",
                     "UpdateFunctionUrlConfigRequest", "UpdateFunctionUrlConfigResponse",
                     "GetFunctionUrlConfigResponse", "FunctionUrlConfig"):
            if name in shapes:
                shapes[name]["members"].setdefault("InvokeMode", {"shape": "InvokeMode"})
    if "LoggingConfig" in shapes:
        return
    shapes["LogFormat"] = {"type": "string", "enum": ["JSON", "Text"]}
    shapes["ApplicationLogLevel"] = {"type": "string",
                                     "enum": ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]}
    shapes["SystemLogLevel"] = {"type": "string", "enum": ["DEBUG", "INFO", "WARN"]}
    shapes["LogGroup"] = {"type": "string", "max": 512, "min": 1}
    shapes["LoggingConfig"] = {"type": "structure", "members": {
        "LogFormat": {"shape": "LogFormat"},
        "ApplicationLogLevel": {"shape": "ApplicationLogLevel"},
        "SystemLogLevel": {"shape": "SystemLogLevel"},
        "LogGroup": {"shape": "LogGroup"}}}
    for name in ("CreateFunctionRequest", "UpdateFunctionConfigurationRequest",
                 "FunctionConfiguration"):
        if name in shapes:
            shapes[name]["members"].setdefault("LoggingConfig", {"shape": "LoggingConfig"})


def kinesis_overlay(operations, shapes):
    # Newer models (and the SDKs built from them) let every stream operation
    # name its stream by StreamARN instead of StreamName, add Tags to
    # CreateStream and paginate ListStreams with NextToken and StreamSummaries.
    # Debian's 1.29 model predates that; add what is missing so those requests
    # parse (an older model's clients never send it).
    for name, shape in shapes.items():
        members = shape.get("members", {})
        if name.endswith("Input") and "StreamName" in members:
            members.setdefault("StreamARN", {"shape": "StreamARN"})
            if "required" in shape:
                shape["required"] = [m for m in shape["required"] if m != "StreamName"]
    shapes["CreateStreamInput"]["members"].setdefault("Tags", {"shape": "TagMap"})
    for out in ("UpdateShardCountOutput", "EnhancedMonitoringOutput"):
        shapes[out]["members"].setdefault("StreamARN", {"shape": "StreamARN"})
    shapes["ListStreamsInput"]["members"].setdefault("NextToken", {"shape": "NextToken"})
    shapes.setdefault("StreamSummary", {
        "type": "structure",
        "required": ["StreamName", "StreamARN", "StreamStatus"],
        "members": {"StreamName": {"shape": "StreamName"}, "StreamARN": {"shape": "StreamARN"},
                    "StreamStatus": {"shape": "StreamStatus"},
                    "StreamModeDetails": {"shape": "StreamModeDetails"},
                    "StreamCreationTimestamp": {"shape": "Timestamp"}}})
    shapes.setdefault("StreamSummaryList", {"type": "list", "member": {"shape": "StreamSummary"}})
    listed = shapes["ListStreamsOutput"]["members"]
    listed.setdefault("NextToken", {"shape": "NextToken"})
    listed.setdefault("StreamSummaries", {"shape": "StreamSummaryList"})
    # Resource tagging (streams and consumers by ARN), as newer models have it.
    shapes.setdefault("ResourceARN", {"type": "string", "max": 2048, "min": 1})
    shapes.setdefault("TagResourceInput", {
        "type": "structure", "required": ["Tags", "ResourceARN"],
        "members": {"Tags": {"shape": "TagMap"}, "ResourceARN": {"shape": "ResourceARN"}}})
    shapes.setdefault("UntagResourceInput", {
        "type": "structure", "required": ["TagKeys", "ResourceARN"],
        "members": {"TagKeys": {"shape": "TagKeyList"}, "ResourceARN": {"shape": "ResourceARN"}}})
    shapes.setdefault("ListTagsForResourceInput", {
        "type": "structure", "required": ["ResourceARN"],
        "members": {"ResourceARN": {"shape": "ResourceARN"}}})
    shapes.setdefault("ListTagsForResourceOutput", {
        "type": "structure", "members": {"Tags": {"shape": "TagList"}}})
    errors = [{"shape": e} for e in ("ResourceNotFoundException", "ResourceInUseException",
                                     "InvalidArgumentException", "LimitExceededException")]
    for op, has_output in (("TagResource", False), ("UntagResource", False),
                           ("ListTagsForResource", True)):
        entry = {"name": op, "http": {"method": "POST", "requestUri": "/"},
                 "input": {"shape": op + "Input"}, "errors": errors}
        if has_output:
            entry["output"] = {"shape": op + "Output"}
        operations.setdefault(op, entry)


def c_literal(text):
    out = []
    chunk = []
    for ch in text.encode("utf-8"):
        if ch in (0x22, 0x5C):
            chunk.append("\\" + chr(ch))
        elif 0x20 <= ch < 0x7F and ch != 0x3F:  # '?' avoided: no trigraphs
            chunk.append(chr(ch))
        else:
            chunk.append("\\%03o" % ch)
        if len(chunk) >= 200:
            out.append('"' + "".join(chunk) + '"')
            chunk = []
    if chunk:
        out.append('"' + "".join(chunk) + '"')
    return "\n    ".join(out) if out else '""'


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: gen_models.py <botocore data dir> <output.c> <service>...")
    data_dir, output, services = sys.argv[1], sys.argv[2], sys.argv[3:]
    parts = ["/* Generated by emulator/protocol/models/gen_models.py from python3-botocore. Do not edit. */",
             '#include "emulator/protocol/model.h"', ""]
    entries = []
    for i, svc in enumerate(services):
        path = newest_model(data_dir, svc)
        with open(path, encoding="utf-8") as f:
            model = overlay(svc, strip(json.load(f)))
        text = json.dumps(model, separators=(",", ":"), ensure_ascii=False, sort_keys=False)
        parts.append("static const char model_%d[] =\n    %s;" % (i, c_literal(text)))
        entries.append('    {"%s", model_%d, sizeof(model_%d) - 1},' % (svc, i, i))
    parts.append("")
    parts.append("const emulator_model_source emulator_model_sources[] = {")
    parts.extend(entries)
    parts.append("};")
    parts.append("const size_t emulator_model_source_count = %d;" % len(entries))
    tmp = output + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")
    os.replace(tmp, output)


if __name__ == "__main__":
    main()
