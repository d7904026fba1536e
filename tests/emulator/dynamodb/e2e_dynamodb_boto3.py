#!/usr/bin/python3
"""End-to-end DynamoDB tests with Debian's boto3 (client and resource API with
boto3.dynamodb.conditions) against a real `airgap emulator` ($AIRGAP_BIN) on
a free loopback port. One emulator serves the whole run; each test uses its
own tables. Error codes and messages are the ones AWS documents and answers."""

import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
import unittest
import warnings
import zlib
from decimal import Decimal

import boto3
import boto3.dynamodb.types
from boto3.dynamodb.conditions import Attr, Key
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from emulator_support import Emulator  # noqa: E402

S = {"AttributeType": "S"}


def attr_defs(**types):
    return [{"AttributeName": k, "AttributeType": v} for k, v in types.items()]


def key_schema(hash_key, range_key=None):
    ks = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        ks.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return ks


class DynamoCase(unittest.TestCase):
    emu = None

    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)
        cls.emu = Emulator()
        kwargs = dict(endpoint_url=cls.emu.endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test",
                      config=Config(retries={"total_max_attempts": 1},
                                    read_timeout=60, connect_timeout=5))
        cls.ddb = boto3.client("dynamodb", **kwargs)
        cls.res = boto3.resource("dynamodb", **kwargs)

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def error(self, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        return cm.exception.response

    def make_table(self, name, hash_key="pk", range_key=None, types=None, **extra):
        types = types or {}
        defs = {hash_key: types.get(hash_key, "S")}
        if range_key:
            defs[range_key] = types.get(range_key, "S")
        for k, v in types.items():
            defs.setdefault(k, v)
        self.ddb.create_table(TableName=name, KeySchema=key_schema(hash_key, range_key),
                              AttributeDefinitions=attr_defs(**defs),
                              BillingMode="PAY_PER_REQUEST", **extra)
        return self.res.Table(name)

    # ---- tables ----

    def test_every_answer_carries_its_crc32(self):
        # x-amz-crc32: the CRC32 of the body, on answers and errors alike
        # (botocore checks it); raw requests, so that nothing checks for us.
        self.make_table("crc")
        auth = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, "
                "SignedHeaders=host;x-amz-target, Signature=" + "0" * 64)
        for target, body, status in (("ListTables", {}, 200),
                                     ("DescribeTable", {"TableName": "crc"}, 200),
                                     ("DescribeTable", {"TableName": "missing"}, 400),
                                     ("GetItem", {"TableName": "crc"}, 400)):
            req = urllib.request.Request(self.emu.endpoint + "/", data=json.dumps(body).encode(),
                                         method="POST", headers={
                                             "X-Amz-Target": "DynamoDB_20120810." + target,
                                             "Content-Type": "application/x-amz-json-1.0",
                                             "Authorization": auth})
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    got, headers, data = resp.status, resp.headers, resp.read()
            except urllib.error.HTTPError as e:
                got, headers, data = e.code, e.headers, e.read()
            self.assertEqual(got, status, (target, data))
            self.assertEqual(headers["x-amz-crc32"], str(zlib.crc32(data)), (target, data))

    def test_table_life_cycle(self):
        desc = self.ddb.create_table(
            TableName="life", KeySchema=key_schema("id", "ts"),
            AttributeDefinitions=attr_defs(id="S", ts="N"),
            ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 7},
            Tags=[{"Key": "team", "Value": "ci"}])["TableDescription"]
        self.assertEqual(desc["TableStatus"], "CREATING")
        self.assertEqual(desc["TableArn"], "arn:aws:dynamodb:us-east-1:000000000000:table/life")
        self.assertEqual(desc["ProvisionedThroughput"]["WriteCapacityUnits"], 7)
        self.ddb.get_waiter("table_exists").wait(TableName="life",
                                                 WaiterConfig={"Delay": 1, "MaxAttempts": 3})
        table = self.ddb.describe_table(TableName="life")["Table"]
        self.assertEqual(table["TableStatus"], "ACTIVE")
        self.assertEqual(table["KeySchema"], key_schema("id", "ts"))
        self.assertEqual(table["BillingModeSummary"]["BillingMode"], "PROVISIONED")
        self.assertEqual(table["ItemCount"], 0)
        self.assertEqual(self.ddb.list_tags_of_resource(ResourceArn=desc["TableArn"])["Tags"],
                         [{"Key": "team", "Value": "ci"}])
        self.ddb.tag_resource(ResourceArn=desc["TableArn"], Tags=[{"Key": "env", "Value": "x"}])
        self.ddb.untag_resource(ResourceArn=desc["TableArn"], TagKeys=["team"])
        self.assertEqual(self.ddb.list_tags_of_resource(ResourceArn=desc["TableArn"])["Tags"],
                         [{"Key": "env", "Value": "x"}])

        err = self.error(self.ddb.create_table, TableName="life", KeySchema=key_schema("id"),
                         AttributeDefinitions=attr_defs(id="S"), BillingMode="PAY_PER_REQUEST")
        self.assertEqual(err["Error"]["Code"], "ResourceInUseException")
        self.assertEqual(err["Error"]["Message"], "Table already exists: life")

        self.ddb.update_table(TableName="life", BillingMode="PAY_PER_REQUEST")
        table = self.ddb.describe_table(TableName="life")["Table"]
        self.assertEqual(table["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST")

        self.ddb.update_time_to_live(TableName="life", TimeToLiveSpecification={
            "Enabled": True, "AttributeName": "expires"})
        ttl = self.ddb.describe_time_to_live(TableName="life")["TimeToLiveDescription"]
        self.assertEqual(ttl, {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"})

        # Settings infrastructure tools read back (Terraform, CDK).
        pitr = self.ddb.update_continuous_backups(
            TableName="life", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        self.assertEqual(pitr["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
                         ["PointInTimeRecoveryStatus"], "ENABLED")
        desc = self.ddb.describe_continuous_backups(TableName="life")
        self.assertEqual(desc["ContinuousBackupsDescription"]["ContinuousBackupsStatus"], "ENABLED")
        self.assertEqual(self.ddb.describe_kinesis_streaming_destination(TableName="life")
                         ["KinesisDataStreamDestinations"], [])

        self.assertEqual(self.ddb.delete_table(TableName="life")["TableDescription"]["TableStatus"],
                         "DELETING")
        self.ddb.get_waiter("table_not_exists").wait(TableName="life",
                                                     WaiterConfig={"Delay": 1, "MaxAttempts": 3})
        err = self.error(self.ddb.describe_table, TableName="life")
        self.assertEqual(err["Error"]["Code"], "ResourceNotFoundException")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400)

    def test_list_tables_pages(self):
        for name in ("list-c", "list-a", "list-b"):
            self.make_table(name)
        names = [n for n in self.ddb.list_tables()["TableNames"] if n.startswith("list-")]
        self.assertEqual(names, ["list-a", "list-b", "list-c"])
        page = self.ddb.list_tables(ExclusiveStartTableName="list-a", Limit=1)
        self.assertEqual(page["TableNames"], ["list-b"])
        self.assertEqual(page["LastEvaluatedTableName"], "list-b")
        everything = []
        for p in self.ddb.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 2}):
            everything += p["TableNames"]
        self.assertEqual([n for n in everything if n.startswith("list-")],
                         ["list-a", "list-b", "list-c"])

    def test_create_table_validation(self):
        err = self.error(self.ddb.create_table, TableName="bad1", KeySchema=key_schema("id"),
                         AttributeDefinitions=attr_defs(other="S"), BillingMode="PAY_PER_REQUEST")
        self.assertEqual(err["Error"]["Code"], "ValidationException")
        self.assertIn("Some index key attributes are not defined in AttributeDefinitions",
                      err["Error"]["Message"])
        err = self.error(self.ddb.create_table, TableName="bad2", KeySchema=key_schema("id"),
                         AttributeDefinitions=attr_defs(id="S", extra="S"),
                         BillingMode="PAY_PER_REQUEST")
        self.assertIn("Number of attributes in KeySchema does not exactly match number of "
                      "attributes defined in AttributeDefinitions", err["Error"]["Message"])
        err = self.error(self.ddb.create_table, TableName="bad3", KeySchema=key_schema("id"),
                         AttributeDefinitions=attr_defs(id="S"))
        self.assertIn("ReadCapacityUnits and WriteCapacityUnits must both be specified",
                      err["Error"]["Message"])
        err = self.error(self.ddb.create_table, TableName="bad4",
                         KeySchema=[{"AttributeName": "id", "KeyType": "RANGE"}],
                         AttributeDefinitions=attr_defs(id="S"), BillingMode="PAY_PER_REQUEST")
        self.assertEqual(err["Error"]["Message"],
                         "Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
        self.assertNotIn("bad1", self.ddb.list_tables()["TableNames"])

    def test_invalid_table_names_are_invalid_not_missing(self):
        # A name no table can have is a ValidationException on every
        # operation, a valid name of no table a ResourceNotFoundException.
        err = self.error(self.ddb.describe_table, TableName="a b")
        self.assertEqual(err["Error"]["Code"], "ValidationException")
        self.assertEqual(err["Error"]["Message"],
                         "1 validation error detected: Value 'a b' at 'tableName' failed to "
                         "satisfy constraint: Member must satisfy regular expression pattern: "
                         "[a-zA-Z0-9_.-]+")
        err = self.error(self.ddb.get_item, TableName="no/such", Key={"pk": {"S": "a"}})
        self.assertEqual(err["Error"]["Code"], "ValidationException")
        err = self.error(self.ddb.get_item, TableName="no-such", Key={"pk": {"S": "a"}})
        self.assertEqual(err["Error"]["Code"], "ResourceNotFoundException")
        self.assertEqual(err["Error"]["Message"], "Requested resource not found")
        err = self.error(self.ddb.delete_table, TableName="no-such")
        self.assertEqual(err["Error"]["Message"],
                         "Requested resource not found: Table: no-such not found")

    # ---- items and numbers ----

    def test_items_resource_api_and_numbers(self):
        table = self.make_table("numbers", "pk", "n", types={"n": "N"})
        big = Decimal("12345678901234567890123456789012345678")
        table.put_item(Item={"pk": "a", "n": 1, "price": Decimal("1.50"), "big": big,
                             "neg0": Decimal("-0"), "e": Decimal("1E+2"),
                             "tiny": Decimal("1E-130"),
                             "tags": {"x", "y"}, "nums": {1, 2}, "doc": {"l": [1, "two", None]},
                             "flag": True, "empty": ""})
        # boto3's resource API cannot read 1E+125 back (boto3 #2500: DynamoDB
        # answers it in plain digits, as here), so the raw client checks it.
        self.ddb.update_item(TableName="numbers", Key={"pk": {"S": "a"}, "n": {"N": "1"}},
                             UpdateExpression="SET huge = :h",
                             ExpressionAttributeValues={":h": {"N": "1E+125"}})
        raw = self.ddb.get_item(TableName="numbers",
                                Key={"pk": {"S": "a"}, "n": {"N": "1"}})["Item"]
        self.assertEqual(raw["price"], {"N": "1.5"})
        self.assertEqual(raw["big"], {"N": "12345678901234567890123456789012345678"})
        self.assertEqual(raw["neg0"], {"N": "0"})
        self.assertEqual(raw["e"], {"N": "100"})
        self.assertEqual(raw["huge"], {"N": "1" + "0" * 125})
        self.assertEqual(Decimal(raw["tiny"]["N"]), Decimal("1E-130"))
        self.ddb.update_item(TableName="numbers", Key={"pk": {"S": "a"}, "n": {"N": "1"}},
                             UpdateExpression="REMOVE huge")
        item = table.get_item(Key={"pk": "a", "n": 1})["Item"]
        self.assertEqual(item["big"], big)
        self.assertEqual(item["tags"], {"x", "y"})
        self.assertEqual(item["doc"], {"l": [1, "two", None]})
        self.assertIs(item["flag"], True)

        # Exact arithmetic at 38 digits, where a double would round.
        out = table.update_item(Key={"pk": "a", "n": 1}, UpdateExpression="SET big = big + :one",
                                ExpressionAttributeValues={":one": 1},
                                ReturnValues="UPDATED_NEW")["Attributes"]
        self.assertEqual(out, {"big": Decimal("12345678901234567890123456789012345679")})

        def put_raw(number):
            return self.error(self.ddb.put_item, TableName="numbers",
                              Item={"pk": {"S": "b"}, "n": {"N": "1"}, "x": {"N": number}})

        err = put_raw("123456789012345678901234567890123456789")
        self.assertEqual(err["Error"]["Code"], "ValidationException")
        self.assertEqual(err["Error"]["Message"],
                         "Attempting to store more than 38 significant digits in a Number")
        self.assertIn("Number overflow", put_raw("1E+126")["Error"]["Message"])
        self.assertIn("Number underflow", put_raw("1E-131")["Error"]["Message"])
        self.assertEqual(put_raw("one")["Error"]["Message"],
                         "A value provided cannot be converted into a number")
        err = self.error(self.ddb.update_item, TableName="numbers",
                         Key={"pk": {"S": "a"}, "n": {"N": "1"}},
                         UpdateExpression="SET z = :a + :b",
                         ExpressionAttributeValues={":a": {"N": "1E+50"}, ":b": {"N": "1"}})
        self.assertIn("Number overflow", err["Error"]["Message"])

        # Numeric sort keys sort by value, not text.
        for n in ("-5", "10", "9", "0.5", "100", "-0.25"):
            self.ddb.put_item(TableName="numbers", Item={"pk": {"S": "s"}, "n": {"N": n}})
        got = [i["n"] for i in table.query(KeyConditionExpression=Key("pk").eq("s"))["Items"]]
        self.assertEqual(got, [Decimal(x) for x in ("-5", "-0.25", "0.5", "9", "10", "100")])

    def test_key_validation(self):
        self.make_table("keys", "pk", "sk")
        err = self.error(self.ddb.put_item, TableName="keys", Item={"pk": {"S": "a"}})
        self.assertEqual(err["Error"]["Message"],
                         "One or more parameter values were invalid: Missing the key sk in the item")
        err = self.error(self.ddb.put_item, TableName="keys",
                         Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
        self.assertEqual(err["Error"]["Message"],
                         "One or more parameter values were invalid: Type mismatch for key sk "
                         "expected: S actual: N")
        err = self.error(self.ddb.get_item, TableName="keys", Key={"pk": {"S": "a"}})
        self.assertEqual(err["Error"]["Message"],
                         "The provided key element does not match the schema")
        err = self.error(self.ddb.put_item, TableName="keys",
                         Item={"pk": {"S": ""}, "sk": {"S": "x"}})
        self.assertIn("cannot contain an empty string value. Key: pk", err["Error"]["Message"])
        err = self.error(self.ddb.put_item, TableName="keys",
                         Item={"pk": {"S": "a"}, "sk": {"S": "x"}, "v": {}})
        self.assertEqual(err["Error"]["Message"], "Supplied AttributeValue is empty, must contain "
                         "exactly one of the supported datatypes")
        err = self.error(self.ddb.put_item, TableName="keys",
                         Item={"pk": {"S": "a"}, "sk": {"S": "x"}, "v": {"SS": []}})
        self.assertIn("may not be empty", err["Error"]["Message"])
        err = self.error(self.ddb.put_item, TableName="keys",
                         Item={"pk": {"S": "a"}, "sk": {"S": "x"}, "v": {"S": "x" * 410000}})
        self.assertEqual(err["Error"]["Message"], "Item size has exceeded the maximum allowed size")
        err = self.error(self.ddb.get_item, TableName="missing-table", Key={"pk": {"S": "a"}})
        self.assertEqual(err["Error"]["Code"], "ResourceNotFoundException")

    def test_conditions_and_return_values(self):
        table = self.make_table("cond")
        table.put_item(Item={"pk": "a", "n": 1, "s": "hello", "tags": {"x"}})
        # A failing condition writes nothing.
        with self.assertRaises(ClientError) as cm:
            table.put_item(Item={"pk": "a", "n": 2}, ConditionExpression=Attr("pk").not_exists())
        self.assertEqual(cm.exception.response["Error"]["Code"],
                         "ConditionalCheckFailedException")
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         "The conditional request failed")
        self.assertEqual(table.get_item(Key={"pk": "a"})["Item"]["n"], 1)

        cases = [
            (Attr("n").eq(1), True), (Attr("n").ne(1), False), (Attr("n").lt(2), True),
            (Attr("n").between(0, 1), True), (Attr("n").is_in([3, 1]), True),
            (Attr("s").begins_with("he"), True), (Attr("s").contains("ell"), True),
            (Attr("tags").contains("x"), True), (Attr("s").size().eq(5), True),
            (Attr("s").attribute_type("S"), True), (Attr("n").attribute_type("S"), False),
            (Attr("missing").exists(), False), (Attr("missing").ne(1), True),
            (Attr("missing").lt(1), False), (Attr("n").eq("1"), False),
            (Attr("n").eq(1) & ~Attr("s").eq("x"), True), (Attr("n").eq(2) | Attr("s").gt("a"), True),
        ]
        for cond, want in cases:
            ok = True
            try:
                table.update_item(Key={"pk": "a"}, UpdateExpression="SET touched = :t",
                                  ExpressionAttributeValues={":t": 1}, ConditionExpression=cond)
            except ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], "ConditionalCheckFailedException")
                ok = False
            self.assertEqual(ok, want, cond.get_expression())

        old = table.put_item(Item={"pk": "a", "n": 5}, ReturnValues="ALL_OLD")["Attributes"]
        self.assertEqual(old["s"], "hello")
        new = table.update_item(Key={"pk": "a"}, UpdateExpression="SET n = n + :d",
                                ExpressionAttributeValues={":d": 2},
                                ReturnValues="ALL_NEW")["Attributes"]
        self.assertEqual(new, {"pk": "a", "n": 7})
        upd_old = table.update_item(Key={"pk": "a"}, UpdateExpression="SET n = :v, m = :v",
                                    ExpressionAttributeValues={":v": 9},
                                    ReturnValues="UPDATED_OLD")["Attributes"]
        self.assertEqual(upd_old, {"n": 7})
        table.update_item(Key={"pk": "a"}, UpdateExpression="SET doc = :d",
                          ExpressionAttributeValues={":d": {"x": 1, "y": [1, 2]}})
        upd_new = table.update_item(Key={"pk": "a"}, UpdateExpression="SET doc.y[1] = :v",
                                    ExpressionAttributeValues={":v": 5},
                                    ReturnValues="UPDATED_NEW")["Attributes"]
        self.assertEqual(upd_new, {"doc": {"y": [5]}})
        gone = table.delete_item(Key={"pk": "a"}, ReturnValues="ALL_OLD")["Attributes"]
        self.assertEqual(gone["m"], 9)
        self.assertNotIn("Item", table.get_item(Key={"pk": "a"}))
        err = self.error(self.ddb.put_item, TableName="cond", Item={"pk": {"S": "a"}},
                         ReturnValues="ALL_NEW")
        self.assertEqual(err["Error"]["Message"], "Return values set to invalid value")

    def test_update_expressions(self):
        table = self.make_table("upd")
        table.put_item(Item={"pk": "a", "list": [1, 2, 3], "list2": [1, 2, 3], "map": {"deep": {"x": 1}},
                             "set": {"a", "b"}, "set2": {"a", "b"}, "count": 1})
        table.update_item(
            Key={"pk": "a"},
            UpdateExpression="SET #l = list_append(#l, :more), #m.deep.y = :y, "
                             "created = if_not_exists(created, :now), #c = #c - :one "
                             "REMOVE list2[0], list2[2], #m.deep.x ADD #s :add, tally :one DELETE set2 :del",
            ExpressionAttributeNames={"#l": "list", "#m": "map", "#s": "set", "#c": "count"},
            ExpressionAttributeValues={":more": [4], ":y": "why", ":now": 100, ":one": 1,
                                       ":add": {"c"}, ":del": {"a"}})
        item = table.get_item(Key={"pk": "a"})["Item"]
        self.assertEqual(item["list"], [1, 2, 3, 4])
        self.assertEqual(item["list2"], [2])
        self.assertEqual(item["map"], {"deep": {"y": "why"}})
        self.assertEqual(item["created"], 100)
        self.assertEqual(item["count"], 0)
        self.assertEqual(item["set"], {"a", "b", "c"})
        self.assertEqual(item["set2"], {"b"})
        self.assertEqual(item["tally"], 1)
        # Projection of nested paths and list elements.
        got = table.get_item(Key={"pk": "a"}, ProjectionExpression="#m.deep.y, #l[2]",
                             ExpressionAttributeNames={"#m": "map", "#l": "list"})["Item"]
        self.assertEqual(got, {"map": {"deep": {"y": "why"}}, "list": [3]})
        # UpdateItem on a missing item creates it.
        table.update_item(Key={"pk": "new"}, UpdateExpression="SET v = :v",
                          ExpressionAttributeValues={":v": "x"})
        self.assertEqual(table.get_item(Key={"pk": "new"})["Item"], {"pk": "new", "v": "x"})

        def bad(expr, names=None, values=None):
            kw = {"TableName": "upd", "Key": {"pk": {"S": "a"}}, "UpdateExpression": expr}
            if names:
                kw["ExpressionAttributeNames"] = names
            if values:
                kw["ExpressionAttributeValues"] = values
            return self.error(self.ddb.update_item, **kw)["Error"]["Message"]

        self.assertEqual(bad("SET pk = :v", values={":v": {"S": "x"}}),
                         "One or more parameter values were invalid: Cannot update attribute pk. "
                         "This attribute is part of the key")
        self.assertEqual(bad("SET a = :v", values={":v": {"S": "x"}, ":w": {"S": "y"}}),
                         "Value provided in ExpressionAttributeValues unused in expressions: "
                         "keys: {:w}")
        self.assertEqual(bad("SET a = :nope", values={":v": {"S": "x"}}),
                         "Invalid UpdateExpression: An expression attribute value used in "
                         "expression is not defined; attribute value: :nope")
        self.assertEqual(bad("SET #a = :v", names={"#b": "x"}, values={":v": {"S": "x"}}),
                         "Invalid UpdateExpression: An expression attribute name used in the "
                         "document path is not defined; attribute name: #a")
        self.assertEqual(bad("SET name = :v", values={":v": {"S": "x"}}),
                         "Invalid UpdateExpression: Attribute name is a reserved keyword; "
                         "reserved keyword: name")
        self.assertEqual(bad("SET a = = :v", values={":v": {"S": "x"}}),
                         'Invalid UpdateExpression: Syntax error; token: "=", near: "= = :v"')
        self.assertEqual(bad("SET a = :v SET b = :v", values={":v": {"S": "x"}}),
                         'Invalid UpdateExpression: The "SET" section can only be used once in '
                         'an update expression;')
        self.assertIn("Two document paths overlap",
                      bad("SET a = :v REMOVE a", values={":v": {"S": "x"}}))
        self.assertEqual(bad("SET a = #l + :v", names={"#l": "list"}, values={":v": {"N": "1"}}),
                         "An operand in the update expression has an incorrect data type")
        self.assertIn("operator: ADD, operand type: STRING",
                      bad("ADD a :v", values={":v": {"S": "x"}}))
        self.assertEqual(bad("SET #m.nope.deeper = :v", names={"#m": "map"},
                             values={":v": {"S": "x"}}),
                         "The document path provided in the update expression is invalid for "
                         "update")

    # ---- queries, scans and indexes ----

    def test_query_paging_and_order(self):
        table = self.make_table("qry", "pk", "sk")
        with table.batch_writer() as batch:
            for i in range(30):
                batch.put_item(Item={"pk": "p", "sk": "item#%02d" % i, "n": i})
            batch.put_item(Item={"pk": "other", "sk": "item#00", "n": 0})
        res = table.query(KeyConditionExpression=Key("pk").eq("p") & Key("sk").begins_with("item#1"))
        self.assertEqual([i["n"] for i in res["Items"]], list(range(10, 20)))
        res = table.query(KeyConditionExpression=Key("pk").eq("p") &
                          Key("sk").between("item#05", "item#07"), ScanIndexForward=False)
        self.assertEqual([i["n"] for i in res["Items"]], [7, 6, 5])
        # Pages of 7, forwards and backwards, resume exactly where they stopped.
        for forward in (True, False):
            seen, start = [], None
            while True:
                kw = {"KeyConditionExpression": Key("pk").eq("p"), "Limit": 7,
                      "ScanIndexForward": forward}
                if start:
                    kw["ExclusiveStartKey"] = start
                page = table.query(**kw)
                seen += [i["n"] for i in page["Items"]]
                start = page.get("LastEvaluatedKey")
                if not start:
                    break
            self.assertEqual(seen, list(range(30)) if forward else list(range(29, -1, -1)))
        # The filter applies after Limit: Count < ScannedCount.
        res = table.query(KeyConditionExpression=Key("pk").eq("p"), Limit=10,
                          FilterExpression=Attr("n").gte(5))
        self.assertEqual((res["Count"], res["ScannedCount"]), (5, 10))
        res = table.query(KeyConditionExpression=Key("pk").eq("p"), Select="COUNT")
        self.assertEqual(res["Count"], 30)
        self.assertNotIn("Items", res)
        err = self.error(self.ddb.query, TableName="qry", KeyConditionExpression="sk = :s",
                         ExpressionAttributeValues={":s": {"S": "x"}})
        self.assertEqual(err["Error"]["Message"], "Query condition missed key schema element: pk")
        err = self.error(self.ddb.query, TableName="qry",
                         KeyConditionExpression="pk = :p AND sk BETWEEN :b AND :a",
                         ExpressionAttributeValues={":p": {"S": "p"}, ":a": {"S": "a"},
                                                    ":b": {"S": "b"}})
        self.assertEqual(err["Error"]["Message"],
                         "Invalid KeyConditionExpression: The BETWEEN operator requires upper "
                         "bound to be greater than or equal to lower bound; lower bound operand: "
                         "AttributeValue: {S:b}, upper bound operand: AttributeValue: {S:a}")
        err = self.error(self.ddb.query, TableName="qry",
                         KeyConditionExpression="pk = :p OR sk = :s",
                         ExpressionAttributeValues={":p": {"S": "p"}, ":s": {"S": "x"}})
        self.assertEqual(err["Error"]["Message"],
                         "Invalid operator used in KeyConditionExpression: OR")

    def test_one_megabyte_pages(self):
        table = self.make_table("big", "pk", "sk")
        blob = "x" * 300000
        for i in range(5):
            table.put_item(Item={"pk": "p", "sk": str(i), "blob": blob})
        first = table.query(KeyConditionExpression=Key("pk").eq("p"))
        self.assertLess(len(first["Items"]), 5)
        self.assertIn("LastEvaluatedKey", first)
        rest = table.query(KeyConditionExpression=Key("pk").eq("p"),
                           ExclusiveStartKey=first["LastEvaluatedKey"])
        self.assertEqual(len(first["Items"]) + len(rest["Items"]), 5)

    def test_indexes(self):
        self.ddb.create_table(
            TableName="idx", KeySchema=key_schema("pk", "sk"),
            AttributeDefinitions=attr_defs(pk="S", sk="S", gpk="S", gsk="N", lsk="N"),
            BillingMode="PAY_PER_REQUEST",
            GlobalSecondaryIndexes=[
                {"IndexName": "by-g", "KeySchema": key_schema("gpk", "gsk"),
                 "Projection": {"ProjectionType": "KEYS_ONLY"}},
                {"IndexName": "by-g-inc", "KeySchema": key_schema("gpk"),
                 "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["extra"]}}],
            LocalSecondaryIndexes=[
                {"IndexName": "by-l", "KeySchema": key_schema("pk", "lsk"),
                 "Projection": {"ProjectionType": "ALL"}}])
        desc = self.ddb.describe_table(TableName="idx")["Table"]
        self.assertEqual(sorted(g["IndexName"] for g in desc["GlobalSecondaryIndexes"]),
                         ["by-g", "by-g-inc"])
        self.assertEqual(desc["GlobalSecondaryIndexes"][0]["IndexStatus"], "ACTIVE")
        table = self.res.Table("idx")
        table.put_item(Item={"pk": "a", "sk": "1", "gpk": "g", "gsk": 2, "lsk": 9, "extra": "e",
                             "other": "o"})
        table.put_item(Item={"pk": "a", "sk": "2", "gpk": "g", "gsk": 1, "lsk": 3})
        table.put_item(Item={"pk": "b", "sk": "1"})  # sparse: in no GSI
        res = table.query(IndexName="by-g", KeyConditionExpression=Key("gpk").eq("g"))
        self.assertEqual(res["Items"], [{"pk": "a", "sk": "2", "gpk": "g", "gsk": 1},
                                        {"pk": "a", "sk": "1", "gpk": "g", "gsk": 2}])
        self.assertEqual(res["LastEvaluatedKey"] if "LastEvaluatedKey" in res else None, None)
        res = table.query(IndexName="by-g-inc", KeyConditionExpression=Key("gpk").eq("g"))
        self.assertIn({"pk": "a", "sk": "1", "gpk": "g", "extra": "e"}, res["Items"])
        res = table.query(IndexName="by-l", KeyConditionExpression=Key("pk").eq("a"))
        self.assertEqual([i["sk"] for i in res["Items"]], ["2", "1"])
        self.assertEqual(res["Items"][1]["other"], "o")
        # Moving an item's index key moves it in the index; removing it drops it.
        table.update_item(Key={"pk": "a", "sk": "2"}, UpdateExpression="SET gsk = :v",
                          ExpressionAttributeValues={":v": 5})
        res = table.query(IndexName="by-g", KeyConditionExpression=Key("gpk").eq("g"))
        self.assertEqual([i["sk"] for i in res["Items"]], ["1", "2"])
        table.update_item(Key={"pk": "a", "sk": "1"}, UpdateExpression="REMOVE gpk")
        res = table.query(IndexName="by-g", KeyConditionExpression=Key("gpk").eq("g"))
        self.assertEqual([i["sk"] for i in res["Items"]], ["2"])
        scan = table.scan(IndexName="by-g")
        self.assertEqual(scan["Count"], 1)
        # Index pagination.
        page = table.query(IndexName="by-l", KeyConditionExpression=Key("pk").eq("a"), Limit=1)
        self.assertEqual(set(page["LastEvaluatedKey"]), {"pk", "sk", "lsk"})
        page2 = table.query(IndexName="by-l", KeyConditionExpression=Key("pk").eq("a"), Limit=1,
                            ExclusiveStartKey=page["LastEvaluatedKey"])
        self.assertNotEqual(page["Items"][0]["sk"], page2["Items"][0]["sk"])
        err = self.error(self.ddb.put_item, TableName="idx",
                         Item={"pk": {"S": "c"}, "sk": {"S": "1"}, "gsk": {"S": "notnum"}})
        self.assertIn("Type mismatch for Index Key gsk Expected: N Actual: S",
                      err["Error"]["Message"])
        err = self.error(self.ddb.query, TableName="idx", IndexName="nope",
                         KeyConditionExpression="pk = :p",
                         ExpressionAttributeValues={":p": {"S": "a"}})
        self.assertIn("does not have the specified index: nope", err["Error"]["Message"])
        # A GSI added later is filled from the items already there.
        self.ddb.update_table(TableName="idx", AttributeDefinitions=attr_defs(other="S"),
                              GlobalSecondaryIndexUpdates=[{"Create": {
                                  "IndexName": "by-other", "KeySchema": key_schema("other"),
                                  "Projection": {"ProjectionType": "ALL"}}}])
        res = table.query(IndexName="by-other", KeyConditionExpression=Key("other").eq("o"))
        self.assertEqual(res["Count"], 1)
        self.ddb.update_table(TableName="idx", GlobalSecondaryIndexUpdates=[
            {"Delete": {"IndexName": "by-other"}}])
        self.assertEqual(len(self.ddb.describe_table(TableName="idx")["Table"]
                             ["GlobalSecondaryIndexes"]), 2)

    def test_scan_segments_and_filters(self):
        table = self.make_table("scan", types={})
        with table.batch_writer() as batch:
            for i in range(40):
                batch.put_item(Item={"pk": "k%d" % i, "n": i})
        everything = []
        for seg in range(3):
            start = None
            while True:
                kw = {"Segment": seg, "TotalSegments": 3, "Limit": 5}
                if start:
                    kw["ExclusiveStartKey"] = start
                page = table.scan(**kw)
                everything += [i["n"] for i in page["Items"]]
                start = page.get("LastEvaluatedKey")
                if not start:
                    break
        self.assertEqual(sorted(everything), list(range(40)))
        res = table.scan(FilterExpression=Attr("n").lt(10) & Attr("pk").begins_with("k1"))
        self.assertEqual(sorted(i["n"] for i in res["Items"]), [1])
        err = self.error(self.ddb.scan, TableName="scan", Segment=3, TotalSegments=3)
        self.assertIn("Segment: 3 is not less than TotalSegments: 3", err["Error"]["Message"])
        err = self.error(self.ddb.scan, TableName="scan", FilterExpression="n <",
                         ExpressionAttributeValues={":v": {"N": "1"}})
        self.assertEqual(err["Error"]["Message"],
                         'Invalid FilterExpression: Syntax error; token: "<EOF>", near: "<"')
        err = self.error(self.ddb.scan, TableName="scan", FilterExpression="foo(n)")
        self.assertEqual(err["Error"]["Message"],
                         "Invalid FilterExpression: Invalid function name; function: foo")

    # ---- batches and transactions ----

    def test_batches(self):
        self.make_table("bt1")
        self.make_table("bt2")
        self.ddb.batch_write_item(RequestItems={
            "bt1": [{"PutRequest": {"Item": {"pk": {"S": "x%d" % i}}}} for i in range(20)],
            "bt2": [{"PutRequest": {"Item": {"pk": {"S": "y"}, "v": {"N": "1"}}}}]})
        out = self.ddb.batch_get_item(RequestItems={
            "bt1": {"Keys": [{"pk": {"S": "x1"}}, {"pk": {"S": "x2"}}, {"pk": {"S": "none"}}]},
            "bt2": {"Keys": [{"pk": {"S": "y"}}], "ProjectionExpression": "v"}})
        self.assertEqual(sorted(i["pk"]["S"] for i in out["Responses"]["bt1"]), ["x1", "x2"])
        self.assertEqual(out["Responses"]["bt2"], [{"v": {"N": "1"}}])
        self.assertEqual(out["UnprocessedKeys"], {})
        err = self.error(self.ddb.batch_get_item, RequestItems={
            "bt1": {"Keys": [{"pk": {"S": "k%d" % i}} for i in range(101)]}})
        self.assertEqual(err["Error"]["Message"],
                         "Too many items requested for the BatchGetItem call")
        err = self.error(self.ddb.batch_write_item, RequestItems={
            "bt1": [{"PutRequest": {"Item": {"pk": {"S": "z%d" % i}}}} for i in range(26)]})
        self.assertEqual(err["Error"]["Code"], "ValidationException")
        err = self.error(self.ddb.batch_write_item, RequestItems={
            "bt1": [{"PutRequest": {"Item": {"pk": {"S": "d"}}}},
                   {"DeleteRequest": {"Key": {"pk": {"S": "d"}}}}]})
        self.assertEqual(err["Error"]["Message"], "Provided list of item keys contains duplicates")
        # A batch with one bad request writes nothing.
        err = self.error(self.ddb.batch_write_item, RequestItems={
            "bt1": [{"PutRequest": {"Item": {"pk": {"S": "fine"}}}},
                   {"PutRequest": {"Item": {"nokey": {"S": "x"}}}}]})
        self.assertEqual(err["Error"]["Code"], "ValidationException")
        self.assertNotIn("Item", self.ddb.get_item(TableName="bt1", Key={"pk": {"S": "fine"}}))
        out = self.ddb.batch_write_item(RequestItems={
            "bt1": [{"DeleteRequest": {"Key": {"pk": {"S": "x%d" % i}}}} for i in range(20)]})
        self.assertEqual(out["UnprocessedItems"], {})
        self.assertEqual(self.ddb.scan(TableName="bt1")["Count"], 0)

    def test_transactions(self):
        self.make_table("txn")
        self.ddb.put_item(TableName="txn", Item={"pk": {"S": "acct"}, "bal": {"N": "10"}})
        err = self.error(self.ddb.transact_write_items, TransactItems=[
            {"Put": {"TableName": "txn", "Item": {"pk": {"S": "new"}}}},
            {"Update": {"TableName": "txn", "Key": {"pk": {"S": "acct"}},
                        "UpdateExpression": "SET bal = bal - :amt",
                        "ConditionExpression": "bal >= :amt",
                        "ExpressionAttributeValues": {":amt": {"N": "50"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}])
        self.assertEqual(err["Error"]["Code"], "TransactionCanceledException")
        self.assertEqual(err["Error"]["Message"],
                         "Transaction cancelled, please refer cancellation reasons for specific "
                         "reasons [None, ConditionalCheckFailed]")
        reasons = err["CancellationReasons"]
        self.assertEqual(reasons[0], {"Code": "None"})
        self.assertEqual(reasons[1]["Code"], "ConditionalCheckFailed")
        self.assertEqual(reasons[1]["Item"]["bal"], {"N": "10"})
        self.assertNotIn("Item", self.ddb.get_item(TableName="txn", Key={"pk": {"S": "new"}}))

        items = [
            {"Put": {"TableName": "txn", "Item": {"pk": {"S": "new"}}}},
            {"Update": {"TableName": "txn", "Key": {"pk": {"S": "acct"}},
                        "UpdateExpression": "SET bal = bal - :amt",
                        "ConditionExpression": "bal >= :amt",
                        "ExpressionAttributeValues": {":amt": {"N": "3"}}}},
            {"ConditionCheck": {"TableName": "txn", "Key": {"pk": {"S": "acct"}},
                                "ConditionExpression": "attribute_exists(pk)"}} if False else
            {"Delete": {"TableName": "txn", "Key": {"pk": {"S": "gone"}}}},
        ]
        self.ddb.transact_write_items(TransactItems=items, ClientRequestToken="tok-1")
        # The same token and request again: success, applied once.
        self.ddb.transact_write_items(TransactItems=items, ClientRequestToken="tok-1")
        got = self.ddb.transact_get_items(TransactItems=[
            {"Get": {"TableName": "txn", "Key": {"pk": {"S": "acct"}}}},
            {"Get": {"TableName": "txn", "Key": {"pk": {"S": "nothing"}}}}])["Responses"]
        self.assertEqual(got[0]["Item"]["bal"], {"N": "7"})
        self.assertEqual(got[1], {})
        err = self.error(self.ddb.transact_write_items, TransactItems=items[:1],
                         ClientRequestToken="tok-1")
        self.assertEqual(err["Error"]["Code"], "IdempotentParameterMismatchException")
        err = self.error(self.ddb.transact_write_items, TransactItems=[
            {"Put": {"TableName": "txn", "Item": {"pk": {"S": "same"}}}},
            {"Delete": {"TableName": "txn", "Key": {"pk": {"S": "same"}}}}])
        self.assertEqual(err["Error"]["Message"],
                         "Transaction request cannot include multiple operations on one item")
        # ConditionCheck alone.
        self.ddb.transact_write_items(TransactItems=[
            {"ConditionCheck": {"TableName": "txn", "Key": {"pk": {"S": "acct"}},
                                "ConditionExpression": "attribute_exists(pk)"}}])

    def test_concurrent_writers(self):
        # Every operation is atomic: concurrent ADDs and conditional puts
        # from several connections neither lose updates nor double-create.
        self.make_table("conc")
        errors, created = [], []

        def worker(n):
            client = boto3.client("dynamodb", endpoint_url=self.emu.endpoint,
                                  region_name="us-east-1", aws_access_key_id="test",
                                  aws_secret_access_key="test",
                                  config=Config(retries={"total_max_attempts": 1}))
            try:
                for i in range(40):
                    client.update_item(TableName="conc", Key={"pk": {"S": "counter"}},
                                       UpdateExpression="ADD n :one",
                                       ExpressionAttributeValues={":one": {"N": "1"}})
                    try:
                        client.put_item(TableName="conc", Item={"pk": {"S": "once%d" % i}},
                                        ConditionExpression="attribute_not_exists(pk)")
                        created.append(i)
                    except ClientError as e:
                        if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
                            raise
            except Exception as e:  # reported below, in the test's thread
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        item = self.ddb.get_item(TableName="conc", Key={"pk": {"S": "counter"}})["Item"]
        self.assertEqual(item["n"], {"N": "240"})
        self.assertEqual(sorted(created), list(range(40)))

    # ---- PartiQL ----

    def test_partiql(self):
        self.make_table("pql", "pk", "sk", types={"sk": "N"})
        ex = self.ddb.execute_statement
        for i in range(6):
            ex(Statement="INSERT INTO pql VALUE {'pk': ?, 'sk': ?, 'tags': <<'a', 'b'>>, "
                         "'doc': {'n': 1.50, 'l': [1, 'two', true, null]}}",
               Parameters=[{"S": "p"}, {"N": str(i)}])
        err = self.error(ex, Statement="INSERT INTO pql VALUE {'pk': 'p', 'sk': 0}")
        self.assertEqual(err["Error"]["Code"], "DuplicateItemException")
        got = ex(Statement='SELECT * FROM "pql" WHERE pk = ? AND sk = 1',
                 Parameters=[{"S": "p"}])["Items"]
        self.assertEqual(got[0]["doc"], {"M": {"n": {"N": "1.5"}, "l": {"L": [
            {"N": "1"}, {"S": "two"}, {"BOOL": True}, {"NULL": True}]}}})
        self.assertEqual(sorted(got[0]["tags"]["SS"]), ["a", "b"])
        got = ex(Statement="SELECT sk FROM pql WHERE pk = 'p' AND sk BETWEEN 2 AND 4")["Items"]
        self.assertEqual(got, [{"sk": {"N": "2"}}, {"sk": {"N": "3"}}, {"sk": {"N": "4"}}])
        # Pages of two, resumed with NextToken.
        seen, token = [], None
        while True:
            kw = {"Statement": "SELECT sk FROM pql WHERE pk = 'p'", "Limit": 2}
            if token:
                kw["NextToken"] = token
            page = ex(**kw)
            seen += [i["sk"]["N"] for i in page["Items"]]
            token = page.get("NextToken")
            if not token:
                break
        self.assertEqual(seen, ["0", "1", "2", "3", "4", "5"])
        ex(Statement="UPDATE pql SET doc.n = doc.n + 1 SET extra = 'x' REMOVE tags "
                     "WHERE pk = 'p' AND sk = 5")
        item = self.ddb.get_item(TableName="pql", Key={"pk": {"S": "p"}, "sk": {"N": "5"}})["Item"]
        self.assertEqual(item["doc"]["M"]["n"], {"N": "2.5"})
        self.assertEqual(item["extra"], {"S": "x"})
        self.assertNotIn("tags", item)
        err = self.error(ex, Statement="UPDATE pql SET a = 1 WHERE pk = 'p' AND sk = 99")
        self.assertEqual(err["Error"]["Code"], "ConditionalCheckFailedException")
        err = self.error(ex, Statement="UPDATE pql SET a = 1 WHERE pk = 'p'")
        self.assertEqual(err["Error"]["Message"],
                         "Where clause does not contain a mandatory equality on all key "
                         "attributes")
        ex(Statement="DELETE FROM pql WHERE pk = 'p' AND sk = 0")
        ex(Statement="DELETE FROM pql WHERE pk = 'p' AND sk = 0")  # already gone: no error
        got = ex(Statement="SELECT sk FROM pql WHERE extra IS NOT MISSING OR sk IN [1, 2]")
        self.assertEqual(sorted(i["sk"]["N"] for i in got["Items"]), ["1", "2", "5"])
        err = self.error(ex, Statement="SELEC * FROM pql")
        self.assertEqual(err["Error"]["Code"], "ValidationException")
        err = self.error(ex, Statement="SELECT * FROM nope WHERE pk = 'p'")
        self.assertEqual(err["Error"]["Code"], "ResourceNotFoundException")

        out = self.ddb.batch_execute_statement(Statements=[
            {"Statement": "SELECT * FROM pql WHERE pk = 'p' AND sk = 1"},
            {"Statement": "INSERT INTO pql VALUE {'pk': 'p', 'sk': 1}"},
            {"Statement": "INSERT INTO pql VALUE {'pk': 'q', 'sk': 1}"}])["Responses"]
        self.assertEqual(out[0]["Item"]["sk"], {"N": "1"})
        self.assertEqual(out[1]["Error"]["Code"], "DuplicateItem")
        self.assertNotIn("Error", out[2])

        err = self.error(self.ddb.execute_transaction, TransactStatements=[
            {"Statement": "INSERT INTO pql VALUE {'pk': 'r', 'sk': 1}"},
            {"Statement": "UPDATE pql SET a = 1 WHERE pk = 'p' AND sk = 1 AND extra = 'no'"}])
        self.assertEqual(err["Error"]["Code"], "TransactionCanceledException")
        self.assertEqual([r["Code"] for r in err["CancellationReasons"]],
                         ["None", "ConditionalCheckFailed"])
        self.assertEqual(ex(Statement="SELECT * FROM pql WHERE pk = 'r'")["Items"], [])
        self.ddb.execute_transaction(TransactStatements=[
            {"Statement": "INSERT INTO pql VALUE {'pk': 'r', 'sk': 1}"},
            {"Statement": "UPDATE pql SET a = 1 WHERE pk = 'p' AND sk = 1"}])
        got = self.ddb.execute_transaction(TransactStatements=[
            {"Statement": "SELECT a FROM pql WHERE pk = 'p' AND sk = 1"},
            {"Statement": "SELECT * FROM pql WHERE pk = 'r' AND sk = 1"}])["Responses"]
        self.assertEqual(got[0]["Item"], {"a": {"N": "1"}})
        self.assertEqual(got[1]["Item"], {"pk": {"S": "r"}, "sk": {"N": "1"}})

    # ---- legacy parameters ----

    def test_legacy_parameters(self):
        self.make_table("legacy", "pk", "sk", types={"sk": "N"})
        for i in range(5):
            self.ddb.put_item(TableName="legacy",
                              Item={"pk": {"S": "p"}, "sk": {"N": str(i)}, "v": {"S": "v%d" % i}})
        err = self.error(self.ddb.put_item, TableName="legacy",
                         Item={"pk": {"S": "p"}, "sk": {"N": "1"}},
                         Expected={"pk": {"Exists": False}})
        self.assertEqual(err["Error"]["Code"], "ConditionalCheckFailedException")
        self.ddb.put_item(TableName="legacy", Item={"pk": {"S": "p"}, "sk": {"N": "1"}, "v": {"S": "x"}},
                          Expected={"v": {"Value": {"S": "v1"}}})
        self.ddb.update_item(TableName="legacy", Key={"pk": {"S": "p"}, "sk": {"N": "2"}},
                             AttributeUpdates={"n": {"Action": "ADD", "Value": {"N": "3"}},
                                               "v": {"Action": "DELETE"},
                                               "w": {"Action": "PUT", "Value": {"S": "w"}}},
                             Expected={"v": {"ComparisonOperator": "BEGINS_WITH",
                                             "AttributeValueList": [{"S": "v"}]}})
        item = self.ddb.get_item(TableName="legacy", Key={"pk": {"S": "p"}, "sk": {"N": "2"}},
                                 AttributesToGet=["n", "v", "w"])["Item"]
        self.assertEqual(item, {"n": {"N": "3"}, "w": {"S": "w"}})
        res = self.ddb.query(TableName="legacy", KeyConditions={
            "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
            "sk": {"ComparisonOperator": "BETWEEN",
                   "AttributeValueList": [{"N": "1"}, {"N": "3"}]}},
            QueryFilter={"v": {"ComparisonOperator": "NOT_NULL"}})
        self.assertEqual([i["sk"]["N"] for i in res["Items"]], ["1", "3"])
        self.assertEqual(res["ScannedCount"], 3)
        res = self.ddb.scan(TableName="legacy", ConditionalOperator="OR", ScanFilter={
            "v": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "x"}]},
            "sk": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "4"}]}})
        self.assertEqual(sorted(i["sk"]["N"] for i in res["Items"]), ["1", "4"])
        err = self.error(self.ddb.query, TableName="legacy", KeyConditionExpression="pk = :p",
                         ExpressionAttributeValues={":p": {"S": "p"}},
                         QueryFilter={"v": {"ComparisonOperator": "NULL"}})
        self.assertEqual(err["Error"]["Message"],
                         "Can not use both expression and non-expression parameters in the same "
                         "request: Non-expression parameters: {QueryFilter} Expression "
                         "parameters: {KeyConditionExpression}")
        err = self.error(self.ddb.scan, TableName="legacy", ScanFilter={
            "v": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"S": "x"}]}})
        self.assertEqual(err["Error"]["Message"],
                         "One or more parameter values were invalid: Invalid number of "
                         "argument(s) for the BETWEEN ComparisonOperator")


class TtlCase(unittest.TestCase):
    """The TTL sweep, run every second here (AIRGAP_DYNAMODB_TTL_SWEEP_SECONDS)."""

    def test_expired_items_are_swept(self):
        warnings.simplefilter("ignore", ResourceWarning)
        emu = Emulator(extra_env={"AIRGAP_DYNAMODB_TTL_SWEEP_SECONDS": "1"})
        try:
            ddb = boto3.client("dynamodb", endpoint_url=emu.endpoint, region_name="us-east-1",
                               aws_access_key_id="test", aws_secret_access_key="test")
            ddb.create_table(TableName="ttl", KeySchema=key_schema("pk"),
                             AttributeDefinitions=attr_defs(pk="S", g="S"),
                             BillingMode="PAY_PER_REQUEST",
                             GlobalSecondaryIndexes=[{
                                 "IndexName": "by-g", "KeySchema": key_schema("g"),
                                 "Projection": {"ProjectionType": "ALL"}}])
            ddb.update_time_to_live(TableName="ttl", TimeToLiveSpecification={
                "Enabled": True, "AttributeName": "exp"})
            now = int(time.time())
            items = {"past": str(now - 10), "future": str(now + 3600),
                     "ancient": str(now - 6 * 365 * 24 * 3600)}
            for pk, exp in items.items():
                ddb.put_item(TableName="ttl", Item={"pk": {"S": pk}, "exp": {"N": exp},
                                                    "g": {"S": "g"}})
            ddb.put_item(TableName="ttl", Item={"pk": {"S": "text"}, "exp": {"S": "0"},
                                                "g": {"S": "g"}})
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if "Item" not in ddb.get_item(TableName="ttl", Key={"pk": {"S": "past"}}):
                    break
                time.sleep(0.2)
            left = sorted(i["pk"]["S"] for i in ddb.scan(TableName="ttl")["Items"])
            self.assertEqual(left, ["ancient", "future", "text"])
            res = ddb.query(TableName="ttl", IndexName="by-g", KeyConditionExpression="g = :g",
                            ExpressionAttributeValues={":g": {"S": "g"}})
            self.assertEqual(res["Count"], 3)
        finally:
            emu.stop()

    def test_sweep_follows_ttl_turned_off_and_on(self):
        # The sweep's timer runs only while some table has TTL enabled: it
        # stops after the last one turns it off and starts again with the next.
        warnings.simplefilter("ignore", ResourceWarning)
        emu = Emulator(extra_env={"AIRGAP_DYNAMODB_TTL_SWEEP_SECONDS": "1"})
        try:
            ddb = boto3.client("dynamodb", endpoint_url=emu.endpoint, region_name="us-east-1",
                               aws_access_key_id="test", aws_secret_access_key="test")
            ddb.create_table(TableName="ttl2", KeySchema=key_schema("pk"),
                             AttributeDefinitions=attr_defs(pk="S"),
                             BillingMode="PAY_PER_REQUEST")
            for enabled in (True, False):
                ddb.update_time_to_live(TableName="ttl2", TimeToLiveSpecification={
                    "Enabled": enabled, "AttributeName": "exp"})
            past = str(int(time.time()) - 10)
            ddb.put_item(TableName="ttl2", Item={"pk": {"S": "off"}, "exp": {"N": past}})
            time.sleep(2.5)  # two sweep periods with TTL off: the item stays
            self.assertIn("Item", ddb.get_item(TableName="ttl2", Key={"pk": {"S": "off"}}))
            ddb.update_time_to_live(TableName="ttl2", TimeToLiveSpecification={
                "Enabled": True, "AttributeName": "exp"})
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if "Item" not in ddb.get_item(TableName="ttl2", Key={"pk": {"S": "off"}}):
                    break
                time.sleep(0.2)
            self.assertNotIn("Item", ddb.get_item(TableName="ttl2", Key={"pk": {"S": "off"}}))
        finally:
            emu.stop()

    def test_forced_sweep_endpoint(self):
        # LocalStack's DELETE /_aws/dynamodb/expired: no waiting for the sweep.
        warnings.simplefilter("ignore", ResourceWarning)
        emu = Emulator(extra_env={"AIRGAP_DYNAMODB_TTL_SWEEP_SECONDS": "0"})  # no timer
        try:
            ddb = boto3.client("dynamodb", endpoint_url=emu.endpoint, region_name="us-east-1",
                               aws_access_key_id="test", aws_secret_access_key="test")
            ddb.create_table(TableName="ttl2", KeySchema=key_schema("pk"),
                             AttributeDefinitions=attr_defs(pk="S"),
                             BillingMode="PAY_PER_REQUEST")
            ddb.update_time_to_live(TableName="ttl2", TimeToLiveSpecification={
                "Enabled": True, "AttributeName": "exp"})
            now = int(time.time())
            for pk, exp in (("a", now - 5), ("b", now - 50), ("c", now + 3600)):
                ddb.put_item(TableName="ttl2", Item={"pk": {"S": pk}, "exp": {"N": str(exp)}})

            def call(method, path):
                req = urllib.request.Request(emu.endpoint + path, method=method)
                try:
                    with urllib.request.urlopen(req, timeout=10) as resp:
                        return resp.status, resp.read()
                except urllib.error.HTTPError as e:
                    return e.code, e.read()

            self.assertEqual(ddb.scan(TableName="ttl2")["Count"], 3)  # nothing swept on its own
            status, body = call("DELETE", "/_aws/dynamodb/expired")
            self.assertEqual((status, json.loads(body)), (200, {"ExpiredItems": 2}))
            left = [i["pk"]["S"] for i in ddb.scan(TableName="ttl2")["Items"]]
            self.assertEqual(left, ["c"])
            self.assertEqual(json.loads(call("DELETE", "/_aws/dynamodb/expired")[1]),
                             {"ExpiredItems": 0})
            self.assertEqual(call("GET", "/_aws/dynamodb/expired")[0], 405)
            self.assertEqual(call("DELETE", "/_aws/dynamodb/nosuch")[0], 404)
            self.assertEqual(call("DELETE", "/_aws/nosuch/expired")[0], 404)
        finally:
            emu.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
