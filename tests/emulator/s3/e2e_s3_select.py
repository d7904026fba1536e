#!/usr/bin/python3
"""SelectObjectContent (S3 Select) end to end: boto3 (its event stream
parser), the aws CLI (`s3api select-object-content` into a file) and the JS
SDK v3 (run with node): CSV with header USE/IGNORE/NONE, delimiters, quotes,
comments, quoted record delimiters; JSON DOCUMENT and LINES; GZIP; CSV and
JSON output; projections, aliases, WHERE operators, functions, CAST,
aggregates, LIMIT, ScanRange, Progress and Stats; errors before the stream
(HTTP 400 with S3 Select's codes) and inside it (an error message)."""

import gzip
import json
import math
import os
import subprocess
import tempfile

import botocore

import s3_e2e_support as sup

PEOPLE = (b"name,age,city,score\n"
          b"Alice,30,Paris,1.25\n"
          b"Bob,25,\"Rome, IT\",2.50\n"
          b"# a comment line\n"
          b"Carol,41,Oslo,\n"
          b"dave,35,\"Say \"\"hi\"\"\",0.25\n")


def select(expr, key="people.csv", inp=None, out=None, s3=None, **kw):
    s3 = s3 or sup.client()
    r = s3.select_object_content(
        Bucket="sel", Key=key, Expression=expr, ExpressionType="SQL",
        InputSerialization=inp or {"CSV": {"FileHeaderInfo": "USE"}},
        OutputSerialization=out or {"CSV": {}}, **kw)
    records, events = b"", []
    for ev in r["Payload"]:
        events.append(next(iter(ev)))
        if "Records" in ev:
            records += ev["Records"]["Payload"]
        if "Stats" in ev:
            stats = ev["Stats"]["Details"]
    assert events[-1] == "End", events
    return records.decode(), stats, events


def err(expr, **kw):
    try:
        select(expr, **kw)
    except botocore.exceptions.ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]
    raise AssertionError("%s did not fail" % expr)


def stream_error(expr, key="people.csv", inp=None):
    """The code of the error message that ends a stream (boto3 raises it
    while reading the events)."""
    r = sup.client().select_object_content(
        Bucket="sel", Key=key, Expression=expr, ExpressionType="SQL",
        InputSerialization=inp or {"CSV": {"FileHeaderInfo": "USE"}},
        OutputSerialization={"CSV": {}})
    try:
        for _ in r["Payload"]:
            pass
    except botocore.exceptions.EventStreamError as e:
        return e.response["Error"]["Code"]
    raise AssertionError("no error event for %s" % expr)


def setup():
    s3 = sup.client()
    s3.create_bucket(Bucket="sel")
    s3.put_object(Bucket="sel", Key="people.csv", Body=PEOPLE)
    s3.put_object(Bucket="sel", Key="people.csv.gz", Body=gzip.compress(PEOPLE))
    s3.put_object(Bucket="sel", Key="lines.json", Body=(
        b'{"id": 1, "name": "a", "tags": ["x", "y"], "price": 10.5, "in": {"ok": true}}\n'
        b'{"id": 2, "name": "b", "tags": [], "price": 3}\n'
        b'{"id": 3, "name": null, "price": 0.25}\n'))
    s3.put_object(Bucket="sel", Key="doc.json", Body=json.dumps(
        {"items": [{"k": "p", "v": 1}, {"k": "q", "v": 2}, {"k": "r", "v": 3}]}).encode())
    s3.put_object(Bucket="sel", Key="pipes.txt",
                  Body=b"1|'a|b'|x;2|'it''s'|y;3|'multi\nline'|z;")


def test_csv_star_and_projection():
    assert select("SELECT * FROM S3Object")[0] == (
        'Alice,30,Paris,1.25\nBob,25,"Rome, IT",2.50\nCarol,41,Oslo,\n'
        'dave,35,"Say ""hi""",0.25\n')
    got, stats, _ = select("SELECT s.name, s.\"city\" AS c FROM S3Object s WHERE s.age > 28",
                           out={"JSON": {}})
    assert [json.loads(x) for x in got.splitlines()] == [
        {"name": "Alice", "c": "Paris"}, {"name": "Carol", "c": "Oslo"},
        {"name": "dave", "c": 'Say "hi"'}], got
    assert stats["BytesScanned"] == len(PEOPLE) and stats["BytesReturned"] == len(got), stats
    # IGNORE and NONE: columns by position only; the header is a record with NONE.
    assert select("SELECT s._1 FROM S3Object s LIMIT 2",
                  inp={"CSV": {"FileHeaderInfo": "IGNORE"}})[0] == "Alice\nBob\n"
    assert select("SELECT _1 FROM S3Object LIMIT 1",
                  inp={"CSV": {"FileHeaderInfo": "NONE"}})[0] == "name\n"
    assert select("SELECT s._1 FROM S3Object s WHERE s._1 = 'Bob'")[0] == "Bob\n"


def test_where_operators_and_functions():
    q = lambda w: select("SELECT name FROM S3Object s WHERE " + w)[0].split()
    assert q("s.age BETWEEN 26 AND 36") == ["Alice", "dave"]
    assert q("s.age NOT BETWEEN 26 AND 36") == ["Bob", "Carol"]
    assert q("s.city IN ('Paris', 'Oslo')") == ["Alice", "Carol"]
    assert q("s.name LIKE '_o%' OR s.name LIKE 'A%'") == ["Alice", "Bob"]
    assert q("s.name NOT LIKE '%l%'") == ["Bob", "dave"]
    assert q("s.score = ''") == ["Carol"]
    assert q("NOT (s.age < 30) AND s.age <> 41") == ["Alice", "dave"]
    assert q("LOWER(s.name) = 'dave'") == ["dave"]
    assert q("s.nothing IS MISSING AND s.name IS NOT NULL LIMIT 1") == ["Alice"]
    got = select("SELECT UPPER(name), CHAR_LENGTH(city), SUBSTRING(name, 2, 3), "
                 "SUBSTRING(name FROM 3), TRIM(BOTH 'A' FROM name), s.age * 2 - 1, "
                 "s.age / 7, s.age % 7, name || '!' FROM S3Object s LIMIT 1")[0]
    assert got == "ALICE,5,lic,ice,lice,59,4,2,Alice!\n", got
    got = select("SELECT COALESCE(NULLIF(s.score, ''), 'none') FROM S3Object s")[0]
    assert got.split() == ["1.25", "2.50", "none", "0.25"], got


def test_cast_and_exact_decimals():
    got = select("SELECT CAST(score AS DECIMAL) * 3, CAST(score AS FLOAT), CAST(age AS INT) + 0.5,"
                 " CAST(age AS STRING) FROM S3Object s WHERE s.score <> '' LIMIT 2")[0]
    assert got == "3.75,1.25,30.5,30\n7.50,2.5,25.5,25\n", got
    # 0.1 + 0.2 is exactly 0.3 in decimals
    got = select("SELECT 0.1 + 0.2, 1 / 3.0, 7 / 2 FROM S3Object LIMIT 1")[0]
    assert got == \
        "0.3,0.3333333333333333333333333333333333,3\n", got
    assert select("SELECT SUM(CAST(score AS DECIMAL)), AVG(CAST(age AS INT)), COUNT(*), "
                  "COUNT(s.score), MIN(CAST(age AS INT)), MAX(name) FROM S3Object s "
                  "WHERE s.score <> ''")[0] == "4.00,30,3,3,25,dave\n"


def test_float_remainder_and_decimal_to_float():
    # A float % is C's fmod, exact (Python's math.fmod is the same), sign of
    # the dividend; a decimal meeting a float becomes the nearest double.
    exprs = ["CAST(score AS FLOAT) % 1", "CAST(-7.5 AS FLOAT) % 2", "CAST(7.5 AS FLOAT) % -2",
             "CAST(1e300 AS FLOAT) % 3", "CAST(1e-310 AS FLOAT) % CAST(3e-320 AS FLOAT)",
             "CAST(0.1 AS FLOAT) % CAST(0.01 AS FLOAT)", "CAST(-4.0 AS FLOAT) % 2",
             "0.1 + CAST(0.2 AS FLOAT)", "1.2345678901234567890123456789 * CAST(1 AS FLOAT)",
             "123456789012345678901234567890.5 + CAST(0 AS FLOAT)"]
    want = [math.fmod(1.25, 1), math.fmod(-7.5, 2), math.fmod(7.5, -2), math.fmod(1e300, 3),
            math.fmod(1e-310, 3e-320), math.fmod(0.1, 0.01),
            math.fmod(-4.0, 2), 0.1 + 0.2, 1.2345678901234567890123456789,
            123456789012345678901234567890.5]
    got = select("SELECT %s FROM S3Object s LIMIT 1" % ", ".join(exprs))[0]
    values = [float(v) for v in got.strip().split(",")]
    assert values == want, (got, want)
    # Infinity and zero divisors: NaN, as fmod gives; an infinite divisor keeps x.
    got = select("SELECT CAST(2.5 AS FLOAT) % CAST('Infinity' AS FLOAT), "
                 "CAST(2.5 AS FLOAT) % CAST(0 AS FLOAT) FROM S3Object s LIMIT 1")[0]
    assert [float(v) for v in got.strip().split(",")][0] == 2.5, got
    assert math.isnan(float(got.strip().split(",")[1])), got


def test_json_input_and_paths():
    inp = {"JSON": {"Type": "LINES"}}
    got = select("SELECT s.id, s.tags[0] AS t, s.\"in\".ok FROM S3Object s WHERE s.price > 3",
                 key="lines.json", inp=inp, out={"JSON": {}})[0]
    assert [json.loads(x) for x in got.splitlines()] == [{"id": 1, "t": "x", "ok": True}], got
    got = select("SELECT s.name FROM S3Object s WHERE s.name IS NULL", key="lines.json",
                 inp=inp, out={"JSON": {}})[0]
    assert json.loads(got) == {"name": None}, got
    got = select("SELECT SUM(s.price) FROM S3Object s", key="lines.json", inp=inp)[0]
    assert got == "13.75\n", got
    got = select("SELECT d.k FROM S3Object[*].items[*] d WHERE d.v >= 2", key="doc.json",
                 inp={"JSON": {"Type": "DOCUMENT"}})[0]
    assert got == "q\nr\n", got
    got = select("SELECT * FROM S3Object[*].items[*] d LIMIT 1", key="doc.json",
                 inp={"JSON": {"Type": "DOCUMENT"}}, out={"JSON": {"RecordDelimiter": ";"}})[0]
    assert got == '{"k":"p","v":1};', got


def test_csv_options_gzip_and_output():
    inp = {"CSV": {"FileHeaderInfo": "NONE", "FieldDelimiter": "|", "RecordDelimiter": ";",
                   "QuoteCharacter": "'", "AllowQuotedRecordDelimiter": True}}
    got = select("SELECT _2, _3 FROM S3Object", key="pipes.txt", inp=inp, out={"CSV": {
        "FieldDelimiter": "\t", "QuoteFields": "ALWAYS", "RecordDelimiter": "\n"}})[0]
    assert got == '"a|b"\t"x"\n"it\'s"\t"y"\n"multi\nline"\t"z"\n', repr(got)
    inp["CSV"]["AllowQuotedRecordDelimiter"] = False
    inp["CSV"]["RecordDelimiter"] = "\n"
    assert stream_error("SELECT _1 FROM S3Object", key="pipes.txt", inp=inp) == \
        "CSVEscapingRecordDelimiter"
    got, stats, events = select("SELECT name FROM S3Object LIMIT 1", key="people.csv.gz",
                                inp={"CSV": {"FileHeaderInfo": "USE"}, "CompressionType": "GZIP"},
                                RequestProgress={"Enabled": True})
    assert got == "Alice\n" and "Progress" in events, events
    assert stats["BytesProcessed"] == len(PEOPLE), stats
    # ScanRange: the records that start inside the range.
    start = PEOPLE.index(b"Bob")
    got = select("SELECT _1 FROM S3Object", inp={"CSV": {}},
                 ScanRange={"Start": start, "End": start + 3})[0]
    assert got == "Bob\n", got


def test_errors_before_the_stream():
    assert err("SELECT FROM S3Object") == (400, "ParseExpectedExpression")
    assert err("SELECT * FROM S3Object WHERE") == (400, "ParseExpectedExpression")
    assert err("SELECT name FROM S3Object s WHERE s.age > 1 1") == (400, "ParseUnexpectedToken")
    assert err("SELECT s._0 FROM S3Object s") == (400, "InvalidColumnIndex")
    assert err("SELECT name FROM S3Object WHERE name ~ 'a'") == (400, "LexerInvalidChar")
    assert err("SELECT name") == (400, "ParseSelectMissingFrom")
    assert err("SELECT BOGUS(name) FROM S3Object")[1] == "UnsupportedFunction"
    assert err("SELECT CAST(name AS WIDGET) FROM S3Object") == (400, "ParseInvalidTypeParam")
    assert err("SELECT name FROM S3Object", inp={"CSV": {"FileHeaderInfo": "MAYBE"}}) == (
        400, "InvalidFileHeaderInfo")
    assert err("SELECT * FROM S3Object", inp={"CSV": {}, "JSON": {"Type": "LINES"}}) == (
        400, "ObjectSerializationConflict")
    assert err("SELECT * FROM S3Object", key="doc.json", inp={"JSON": {"Type": "DOCUMENT"}},
               ScanRange={"Start": 1}) == (400, "UnsupportedScanRangeInput")
    assert err("SELECT * FROM S3Object", key="people.csv",
               inp={"CSV": {}, "CompressionType": "GZIP"}) == (400, "TruncatedInput")
    assert err("SELECT * FROM S3Object", key="missing.csv") == (404, "NoSuchKey")
    assert err("SELECT " + "(" * 100 + "1" + ")" * 100 + " FROM S3Object")[1] == \
        "ExpressionTooLong"


def test_error_inside_the_stream():
    assert stream_error("SELECT CAST(city AS INT) FROM S3Object") == "CastFailed"
    assert stream_error("SELECT age / 0 FROM S3Object") == "EvaluatorDivisionByZero"


def test_aws_cli():
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out.csv")
        r = subprocess.run(
            ["aws", "--endpoint-url", sup.EMU.endpoint, "s3api", "select-object-content",
             "--bucket", "sel", "--key", "people.csv", "--expression",
             "SELECT name FROM S3Object s WHERE CAST(s.age AS INT) < 31",
             "--expression-type", "SQL",
             "--input-serialization", '{"CSV": {"FileHeaderInfo": "USE"}}',
             "--output-serialization", '{"CSV": {}}', out],
            capture_output=True, text=True, env=env)
        assert r.returncode == 0, r
        assert open(out).read() == "Alice\nBob\n"
        r = subprocess.run(
            ["aws", "--endpoint-url", sup.EMU.endpoint, "s3api", "select-object-content",
             "--bucket", "sel", "--key", "people.csv", "--expression", "SELECT name FROM",
             "--expression-type", "SQL", "--input-serialization", '{"CSV": {}}',
             "--output-serialization", '{"CSV": {}}', out],
            capture_output=True, text=True, env=env)
        assert r.returncode != 0 and "ParseUnexpectedToken" in r.stderr, r


JS = r"""
import { S3Client, SelectObjectContentCommand } from "@aws-sdk/client-s3";
const s3 = new S3Client({ endpoint: process.env.EP, region: "us-east-1", forcePathStyle: true,
  credentials: { accessKeyId: "test", secretAccessKey: "test" } });
const r = await s3.send(new SelectObjectContentCommand({ Bucket: "sel", Key: "lines.json",
  Expression: "SELECT s.id, s.name FROM S3Object s WHERE s.id < 3", ExpressionType: "SQL",
  InputSerialization: { JSON: { Type: "LINES" } }, OutputSerialization: { JSON: {} } }));
let text = "", stats = null, end = false;
for await (const ev of r.Payload) {
  if (ev.Records) text += Buffer.from(ev.Records.Payload).toString();
  if (ev.Stats) stats = ev.Stats.Details;
  if (ev.End) end = true;
}
console.log(JSON.stringify({ text, stats, end }));
"""


def test_js_sdk():
    here = os.path.dirname(os.path.abspath(__file__))
    js_dir = os.path.join(here, "..", "..", "js")
    with tempfile.NamedTemporaryFile("w", suffix=".mjs", dir=js_dir, delete=False) as f:
        f.write(JS)
    try:
        r = subprocess.run(["node", f.name], capture_output=True, text=True,
                           env=dict(os.environ, EP=sup.EMU.endpoint), timeout=60)
    finally:
        os.unlink(f.name)
    assert r.returncode == 0, r
    got = json.loads(r.stdout)
    assert got["text"] == '{"id":1,"name":"a"}\n{"id":2,"name":"b"}\n', got
    assert got["end"] and got["stats"]["BytesReturned"] == len(got["text"]), got


if __name__ == "__main__":
    sup.run([setup, test_csv_star_and_projection, test_where_operators_and_functions,
             test_cast_and_exact_decimals, test_float_remainder_and_decimal_to_float,
             test_json_input_and_paths,
             test_csv_options_gzip_and_output, test_errors_before_the_stream,
             test_error_inside_the_stream, test_aws_cli, test_js_sdk])
