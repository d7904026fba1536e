#!/usr/bin/python3
"""The configurations a bucket keeps several of, by id — inventory,
analytics, metrics, Intelligent-Tiering — with Debian's boto3 and the aws
CLI: stored and read back, listed sorted by id in pages of 100, deleted,
NoSuchConfiguration, IdMismatch, and inventory validated as S3 validates it
(destination ARN, format, schedule, object versions, optional fields)."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3_e2e_support as sup  # noqa: E402
from s3_e2e_support import client, code_of, error_of  # noqa: E402


def inventory(id_, **over):
    cfg = {"Id": id_, "IsEnabled": True, "IncludedObjectVersions": "Current",
           "Destination": {"S3BucketDestination": {"Bucket": "arn:aws:s3:::inv-dest",
                                                   "Format": "CSV", "Prefix": "reports"}},
           "Schedule": {"Frequency": "Daily"}, "OptionalFields": ["Size", "ETag"]}
    cfg.update(over)
    return cfg


def test_inventory_round_trip_and_listing():
    s3 = client()
    s3.create_bucket(Bucket="inv-src")
    assert s3.list_bucket_inventory_configurations(Bucket="inv-src")["IsTruncated"] is False
    assert code_of(s3.get_bucket_inventory_configuration, Bucket="inv-src", Id="nope") == (
        404, "NoSuchConfiguration")
    s3.put_bucket_inventory_configuration(Bucket="inv-src", Id="daily",
                                          InventoryConfiguration=inventory("daily"))
    got = s3.get_bucket_inventory_configuration(Bucket="inv-src", Id="daily")
    assert got["InventoryConfiguration"] == inventory("daily"), got
    for i in range(104):
        s3.put_bucket_inventory_configuration(Bucket="inv-src", Id="c%03d" % i,
                                              InventoryConfiguration=inventory("c%03d" % i))
    page = s3.list_bucket_inventory_configurations(Bucket="inv-src")
    ids = [c["Id"] for c in page["InventoryConfigurationList"]]
    assert len(ids) == 100 and ids == sorted(ids) and page["IsTruncated"], (len(ids), page)
    page2 = s3.list_bucket_inventory_configurations(
        Bucket="inv-src", ContinuationToken=page["NextContinuationToken"])
    ids2 = [c["Id"] for c in page2["InventoryConfigurationList"]]
    assert len(ids2) == 5 and not page2["IsTruncated"] and "daily" in ids2, ids2
    assert not set(ids) & set(ids2)
    s3.delete_bucket_inventory_configuration(Bucket="inv-src", Id="daily")
    assert code_of(s3.delete_bucket_inventory_configuration, Bucket="inv-src", Id="daily") == (
        404, "NoSuchConfiguration")


def test_inventory_validation():
    s3 = client()
    s3.create_bucket(Bucket="inv-bad")
    r = error_of(s3.put_bucket_inventory_configuration, Bucket="inv-bad", Id="a",
                 InventoryConfiguration=inventory("b"))
    assert (r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]) == (400, "IdMismatch")
    dest = {"S3BucketDestination": {"Bucket": "inv-dest", "Format": "CSV"}}
    assert code_of(s3.put_bucket_inventory_configuration, Bucket="inv-bad", Id="a",
                   InventoryConfiguration=inventory("a", Destination=dest)) == (
        400, "InvalidS3DestinationBucket")
    for bad in ({"Schedule": {"Frequency": "Hourly"}}, {"IncludedObjectVersions": "Some"},
                {"OptionalFields": ["Size", "Colour"]},
                {"Destination": {"S3BucketDestination": {"Bucket": "arn:aws:s3:::d",
                                                         "Format": "JSON"}}}):
        assert code_of(s3.put_bucket_inventory_configuration, Bucket="inv-bad", Id="a",
                       InventoryConfiguration=inventory("a", **bad)) == (400, "MalformedXML"), bad
    assert "InventoryConfigurationList" not in s3.list_bucket_inventory_configurations(
        Bucket="inv-bad")


def test_analytics_metrics_tiering():
    s3 = client()
    s3.create_bucket(Bucket="idcfg")
    s3.put_bucket_metrics_configuration(Bucket="idcfg", Id="all",
                                        MetricsConfiguration={"Id": "all"})
    assert s3.get_bucket_metrics_configuration(Bucket="idcfg", Id="all")[
        "MetricsConfiguration"] == {"Id": "all"}
    assert code_of(s3.put_bucket_metrics_configuration, Bucket="idcfg", Id="x",
                   MetricsConfiguration={"Id": "y"}) == (400, "IdMismatch")
    analytics = {"Id": "an", "Filter": {"Prefix": "logs/"}, "StorageClassAnalysis": {}}
    s3.put_bucket_analytics_configuration(Bucket="idcfg", Id="an",
                                          AnalyticsConfiguration=analytics)
    listed = s3.list_bucket_analytics_configurations(Bucket="idcfg")
    assert [c["Id"] for c in listed["AnalyticsConfigurationList"]] == ["an"], listed
    tiering = {"Id": "t", "Status": "Enabled",
               "Tierings": [{"Days": 90, "AccessTier": "ARCHIVE_ACCESS"}]}
    s3.put_bucket_intelligent_tiering_configuration(Bucket="idcfg", Id="t",
                                                    IntelligentTieringConfiguration=tiering)
    got = s3.get_bucket_intelligent_tiering_configuration(Bucket="idcfg", Id="t")
    assert got["IntelligentTieringConfiguration"] == tiering, got
    s3.delete_bucket_metrics_configuration(Bucket="idcfg", Id="all")
    assert "MetricsConfigurationList" not in s3.list_bucket_metrics_configurations(Bucket="idcfg")
    # the aws CLI
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="")
    cli = ["aws", "--endpoint-url", sup.EMU.endpoint, "s3api"]
    subprocess.run(cli + ["put-bucket-inventory-configuration", "--bucket", "idcfg", "--id", "w",
                          "--inventory-configuration", json.dumps(inventory("w"))],
                   check=True, capture_output=True, env=env)
    out = subprocess.run(cli + ["list-bucket-inventory-configurations", "--bucket", "idcfg"],
                         check=True, capture_output=True, env=env)
    assert [c["Id"] for c in json.loads(out.stdout)["InventoryConfigurationList"]] == ["w"]
    bad = subprocess.run(cli + ["get-bucket-inventory-configuration", "--bucket", "idcfg",
                                "--id", "none"], capture_output=True, env=env)
    assert bad.returncode != 0 and b"NoSuchConfiguration" in bad.stderr, bad


if __name__ == "__main__":
    sup.run([test_inventory_round_trip_and_listing, test_inventory_validation,
             test_analytics_metrics_tiering])
