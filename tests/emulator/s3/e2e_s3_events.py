#!/usr/bin/python3
"""S3 event notifications of the operations beyond PutObject, CopyObject,
CompleteMultipartUpload and DeleteObject (tests/emulator/events has those):
DeleteObjects (one record per key, ObjectRemoved:Delete or
DeleteMarkerCreated), POST Object (ObjectCreated:Post), RestoreObject
(ObjectRestore:Post then :Completed) into SQS with boto3, and DeleteObjects
through EventBridge when the bucket enables it."""

import json
import subprocess
import time

import s3_e2e_support as sup


def sqs():
    import boto3
    return boto3.client("sqs", endpoint_url=sup.EMU.endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def queue(name):
    q = sqs()
    url = q.create_queue(QueueName=name)["QueueUrl"]
    arn = q.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    return url, arn


def receive(url, count, timeout=10):
    q = sqs()
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        for m in q.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                   WaitTimeSeconds=1).get("Messages", []):
            got.append(json.loads(m["Body"]))
            q.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


def notify(s3, bucket, arn, events):
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={
            "QueueConfigurations": [{"Id": "all", "QueueArn": arn, "Events": events}]})
    # S3 sends each queue of a configuration it accepts one s3:TestEvent.
    url = sqs().get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]
    test = receive(url, 1)
    assert len(test) == 1 and test[0]["Event"] == "s3:TestEvent", test
    assert (test[0]["Service"], test[0]["Bucket"]) == ("Amazon S3", bucket), test
    assert sorted(test[0]) == ["Bucket", "Event", "HostId", "RequestId", "Service", "Time"], test


def test_destinations_validated():
    from botocore.exceptions import ClientError
    s3 = sup.client()
    s3.create_bucket(Bucket="ev-dest")
    url, arn = queue("ev-dest")
    missing = {
        "QueueConfigurations": (arn + "-gone", "The destination queue does not exist"),
        "TopicConfigurations": ("arn:aws:sns:us-east-1:000000000000:ev-gone",
                                "The destination topic does not exist"),
        "LambdaFunctionConfigurations": (
            "arn:aws:lambda:us-east-1:000000000000:function:ev-gone",
            "The destination Lambda does not exist"),
    }
    member = {"QueueConfigurations": "QueueArn", "TopicConfigurations": "TopicArn",
              "LambdaFunctionConfigurations": "LambdaFunctionArn"}
    for kind, (target, why) in missing.items():
        config = {kind: [{member[kind]: target, "Events": ["s3:ObjectCreated:*"]}]}
        try:
            s3.put_bucket_notification_configuration(Bucket="ev-dest",
                                                     NotificationConfiguration=config)
            raise AssertionError("accepted a missing destination: %s" % target)
        except ClientError as e:
            err = e.response["Error"]
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400, e.response
            assert (err["Code"], err["Message"], err["ArgumentName"], err["ArgumentValue"]) == (
                "InvalidArgument", "Unable to validate the following destination configurations",
                target, why), err
        # Nothing was stored.
        got = s3.get_bucket_notification_configuration(Bucket="ev-dest")
        assert kind not in got, got
        # Asked not to validate, S3 stores it and sends no test event.
        s3.put_bucket_notification_configuration(Bucket="ev-dest", NotificationConfiguration=config,
                                                 SkipDestinationValidation=True)
        stored = s3.get_bucket_notification_configuration(Bucket="ev-dest")[kind]
        assert stored[0][member[kind]] == target, stored
    # The queue of another account or Region is looked up where its ARN says.
    other = arn.replace(":000000000000:", ":111111111111:")
    try:
        s3.put_bucket_notification_configuration(Bucket="ev-dest", NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": other, "Events": ["s3:ObjectCreated:*"]}]})
        raise AssertionError("accepted another account's missing queue")
    except ClientError as e:
        assert e.response["Error"]["ArgumentName"] == other, e.response
    assert receive(url, 1, timeout=1) == []
    notify(s3, "ev-dest", arn, ["s3:ObjectCreated:*"])


def test_delete_objects_one_event_per_key():
    s3 = sup.client()
    s3.create_bucket(Bucket="ev-delete")
    url, arn = queue("ev-delete")
    for k in ("a", "b", "c"):
        s3.put_object(Bucket="ev-delete", Key=k, Body=b"x")
    notify(s3, "ev-delete", arn, ["s3:ObjectRemoved:*"])
    s3.delete_objects(Bucket="ev-delete", Delete={"Objects": [{"Key": "a"}, {"Key": "b"}],
                                                   "Quiet": True})
    got = sorted((r["Records"][0]["eventName"], r["Records"][0]["s3"]["object"]["key"])
                 for r in receive(url, 2))
    assert got == [("ObjectRemoved:Delete", "a"), ("ObjectRemoved:Delete", "b")], got
    assert receive(url, 1, timeout=1) == []


def test_delete_objects_versioned():
    s3 = sup.client()
    s3.create_bucket(Bucket="ev-versioned")
    s3.put_bucket_versioning(Bucket="ev-versioned",
                             VersioningConfiguration={"Status": "Enabled"})
    url, arn = queue("ev-versioned")
    v1 = s3.put_object(Bucket="ev-versioned", Key="k", Body=b"1")["VersionId"]
    s3.put_object(Bucket="ev-versioned", Key="k", Body=b"2")
    notify(s3, "ev-versioned", arn, ["s3:ObjectRemoved:DeleteMarkerCreated"])
    out = s3.delete_objects(Bucket="ev-versioned", Delete={"Objects": [
        {"Key": "k"}, {"Key": "k", "VersionId": v1}]})
    marker = [d for d in out["Deleted"] if d.get("DeleteMarker")][0]
    [rec] = [r["Records"][0] for r in receive(url, 1)]
    assert rec["eventName"] == "ObjectRemoved:DeleteMarkerCreated", rec
    assert rec["s3"]["object"]["versionId"] == marker["DeleteMarkerVersionId"], rec
    # The version deleted outright is ObjectRemoved:Delete, which this
    # configuration does not ask for.
    assert receive(url, 1, timeout=1) == []
    notify(s3, "ev-versioned", arn, ["s3:ObjectRemoved:Delete"])
    v2 = [v["VersionId"] for v in s3.list_object_versions(Bucket="ev-versioned")["Versions"]][0]
    s3.delete_objects(Bucket="ev-versioned", Delete={"Objects": [{"Key": "k", "VersionId": v2}]})
    [rec] = [r["Records"][0] for r in receive(url, 1)]
    assert rec["eventName"] == "ObjectRemoved:Delete"
    assert rec["s3"]["object"]["versionId"] == v2


def test_post_object_event():
    s3 = sup.client()
    s3.create_bucket(Bucket="ev-post")
    url, arn = queue("ev-post")
    notify(s3, "ev-post", arn, ["s3:ObjectCreated:Post"])
    s3.put_object(Bucket="ev-post", Key="put-not-sent", Body=b"x")
    post = s3.generate_presigned_post("ev-post", "form/${filename}")
    args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}"]
    for k, v in post["fields"].items():
        args += ["-F", "%s=%s" % (k, v)]
    args += ["-F", "file=@-;filename=up.txt", post["url"]]
    code = subprocess.run(args, input=b"hello form", capture_output=True, check=True).stdout
    assert code == b"204", code
    [rec] = [r["Records"][0] for r in receive(url, 1)]
    assert rec["eventName"] == "ObjectCreated:Post", rec
    assert rec["s3"]["object"]["key"] == "form/up.txt", rec
    assert rec["s3"]["object"]["size"] == 10
    assert receive(url, 1, timeout=1) == []


def test_restore_events():
    s3 = sup.client()
    s3.create_bucket(Bucket="ev-restore")
    url, arn = queue("ev-restore")
    s3.put_object(Bucket="ev-restore", Key="cold", Body=b"old", StorageClass="GLACIER")
    notify(s3, "ev-restore", arn, ["s3:ObjectRestore:*"])
    s3.restore_object(Bucket="ev-restore", Key="cold", RestoreRequest={"Days": 1})
    names = [r["Records"][0]["eventName"] for r in receive(url, 2)]
    assert names == ["ObjectRestore:Post", "ObjectRestore:Completed"], names


def test_delete_objects_eventbridge():
    import boto3
    s3 = sup.client()
    events = boto3.client("events", endpoint_url=sup.EMU.endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    s3.create_bucket(Bucket="ev-bridge")
    url, arn = queue("ev-bridge")
    s3.put_object(Bucket="ev-bridge", Key="x1", Body=b"x")
    s3.put_object(Bucket="ev-bridge", Key="x2", Body=b"x")
    s3.put_bucket_notification_configuration(
        Bucket="ev-bridge", NotificationConfiguration={"EventBridgeConfiguration": {}})
    events.put_rule(Name="ev-bridge-deleted", EventPattern=json.dumps({
        "source": ["aws.s3"], "detail-type": ["Object Deleted"],
        "detail": {"bucket": {"name": ["ev-bridge"]}}}))
    events.put_targets(Rule="ev-bridge-deleted", Targets=[{"Id": "q", "Arn": arn}])
    s3.delete_objects(Bucket="ev-bridge", Delete={"Objects": [{"Key": "x1"}, {"Key": "x2"}]})
    keys = sorted(e["detail"]["object"]["key"] for e in receive(url, 2))
    assert keys == ["x1", "x2"], keys


if __name__ == "__main__":
    sup.run([test_delete_objects_one_event_per_key, test_delete_objects_versioned,
             test_post_object_event, test_restore_events, test_delete_objects_eventbridge,
             test_destinations_validated])
