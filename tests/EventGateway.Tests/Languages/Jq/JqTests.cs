using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Events.Log;
using EventGateway.Events.Sensors.Transforms;
using EventGateway.Languages;
using EventGateway.Languages.Jq;
using EventGateway.Model;

namespace EventGateway.Tests.Languages.Jq;

/// <summary>The jq subset of event transforms: program, input, and every output (as a JSON array).</summary>
public sealed class JqTests
{
    private static string Outputs(string program, string input, TimeProvider? time = null)
    {
        var results = JqProgram.Parse(program).Run(JsonNode.Parse(input), time);
        return new JsonArray(results.Select(r => r?.DeepClone()).ToArray()).ToJsonString();
    }

    private static void Check(string program, string input, string expected)
    {
        var actual = Outputs(program, input);
        JsonNode.DeepEquals(JsonNode.Parse(actual), JsonNode.Parse(expected))
            .ShouldBeTrue($"jq '{program}' on {input}: expected {expected}, got {actual}");
    }

    [Theory]
    // Paths, optional access, iteration, slices.
    [InlineData(".", """{"a":1}""", """[{"a":1}]""")]
    [InlineData(".a.b", """{"a":{"b":2}}""", "[2]")]
    [InlineData(".a.b", """{"a":null}""", "[null]")]
    [InlineData(".missing", """{}""", "[null]")]
    [InlineData("""."quoted key" """, """{"quoted key":3}""", "[3]")]
    [InlineData(""".["x y"]""", """{"x y":4}""", "[4]")]
    [InlineData(".a.\"b c\"", """{"a":{"b c":5}}""", "[5]")]
    [InlineData(".[1]", "[1,2,3]", "[2]")]
    [InlineData(".[-1]", "[1,2,3]", "[3]")]
    [InlineData(".[5]", "[1,2,3]", "[null]")]
    [InlineData(".[]", "[1,2]", "[1,2]")]
    [InlineData(".[]", """{"a":1,"b":"x"}""", """[1,"x"]""")]
    [InlineData(".a[].b", """{"a":[{"b":1},{"b":2}]}""", "[1,2]")]
    [InlineData(".a.[0]", """{"a":[7]}""", "[7]")]
    [InlineData(".[1:]", "[1,2,3]", "[[2,3]]")]
    [InlineData(".[:-1]", "[1,2,3]", "[[1,2]]")]
    [InlineData(".[2:4]", "\"abcdef\"", "[\"cd\"]")]
    [InlineData(".a?", "5", "[]")]
    [InlineData(".[]?", "5", "[]")]
    [InlineData("[.[] | .a?]", """[1,{"a":2}]""", "[[2]]")]
    [InlineData("[.. | numbers]", """[1,[2,{"a":3}]]""", "[[1,2,3]]")]
    [InlineData(".[.i]", """{"i":"k","k":9}""", "[9]")]
    // Pipes, comma, literals, variables.
    [InlineData(".a, .b", """{"a":1,"b":2}""", "[1,2]")]
    [InlineData(".a | . + 1", """{"a":1}""", "[2]")]
    [InlineData("""  "s", 1.5, -2, 1e3, true, false, null  """, "null", """["s",1.5,-2,1000,true,false,null]""")]
    [InlineData(".a as $x | .b | . + $x", """{"a":1,"b":2}""", "[3]")]
    [InlineData(". as [$a, $b] | $a + $b", "[1,2]", "[3]")]
    [InlineData(". as {a: $x, $b, c: [$d]} | [$x, $b, $d]", """{"a":1,"b":2,"c":[3]}""", "[[1,2,3]]")]
    [InlineData("$__loc__", "null", """[{"file":"<stdin>","line":1}]""")]
    [InlineData("$ENV, env", "null", "[{},{}]")]
    // Object and array construction.
    [InlineData("""{a: .x, "b": .y, c}""", """{"x":1,"y":2,"c":3}""", """[{"a":1,"b":2,"c":3}]""")]
    [InlineData("{(.k): .v}", """{"k":"name","v":5}""", """[{"name":5}]""")]
    [InlineData("""{"a\(.n)": 1}""", """{"n":7}""", """[{"a7":1}]""")]
    [InlineData("{a: (1,2)}", "null", """[{"a":1},{"a":2}]""")]
    [InlineData("{$__loc__, if: 1}", "null", """[{"__loc__":{"file":"<stdin>","line":1},"if":1}]""")]
    [InlineData("{a: .b | length, c: 1}", """{"b":"xyz"}""", """[{"a":3,"c":1}]""")]
    [InlineData("{user, title: .titles[]}", """{"user":"u","titles":["a","b"]}""", """[{"user":"u","title":"a"},{"user":"u","title":"b"}]""")]
    [InlineData("[.[] | . * 2]", "[1,2]", "[[2,4]]")]
    [InlineData("[]", "null", "[[]]")]
    [InlineData("{}", "null", "[{}]")]
    // Arithmetic.
    [InlineData(".a + .b", """{"a":1,"b":2}""", "[3]")]
    [InlineData(""" "ab" + "cd" """, "null", "[\"abcd\"]")]
    [InlineData("[1] + [2,3]", "null", "[[1,2,3]]")]
    [InlineData("""{"a":1,"b":1} + {"b":2}""", "null", """[{"a":1,"b":2}]""")]
    [InlineData("null + 1, 1 + null", "null", "[1,1]")]
    [InlineData("10 - 4", "null", "[6]")]
    [InlineData("[1,2,3,2] - [2]", "null", "[[1,3]]")]
    [InlineData("3 * 4", "null", "[12]")]
    [InlineData(""" "ab" * 3, "ab" * 0 """, "null", """["ababab",null]""")]
    [InlineData("""{"a":{"b":1,"d":1}} * {"a":{"c":2,"d":2}}""", "null", """[{"a":{"b":1,"d":2,"c":2}}]""")]
    [InlineData("10 / 4", "null", "[2.5]")]
    [InlineData(""" "a,b" / "," """, "null", """[["a","b"]]""")]
    [InlineData("7 % 3, -7 % 3, 5.9 % 2", "null", "[1,-1,1]")]
    [InlineData("1 + 2 * 3, (1 + 2) * 3, -1 + 2, 10 - 2 - 3", "null", "[7,9,1,5]")]
    [InlineData("(1,2) + (10,20)", "null", "[11,12,21,22]")]
    [InlineData("0.1 + 0.2", "null", "[0.30000000000000004]")]
    // Comparisons and logic.
    [InlineData(".a == 1, .a != 1, .a < 2, .a >= 2", """{"a":1}""", "[true,false,true,false]")]
    [InlineData(""" "a" < "b", [1] < [1,0], null < false, false < 0, 0 < "", "" < [], [] < {} """, "null", "[true,true,true,true,true,true,true]")]
    [InlineData("""{"a":1} == {"a":1.0}, [1,2] == [2,1]""", "null", "[true,false]")]
    [InlineData("true and false, false or true, (.a | not)", """{"a":null}""", "[false,true,true]")]
    [InlineData("(true,false) and true", "null", "[true,false]")]
    [InlineData("false and error(\"never\")", "null", "[false]")]
    // Conditionals and alternatives.
    [InlineData("""[.[] | if . > 1 then "big" elif . == 1 then "one" else "small" end]""", "[2,1,0]", """[["big","one","small"]]""")]
    [InlineData("""if . then "t" end""", "false", "[false]")]
    [InlineData(""".a // "default" """, "{}", "[\"default\"]")]
    [InlineData(""".a // "default" """, """{"a":false}""", "[\"default\"]")]
    [InlineData(""".a // "default" """, """{"a":0}""", "[0]")]
    [InlineData(".a.b.c // 1", """{"a":5}""", "[1]")]
    [InlineData("[.[] // 9]", "[null,false]", "[[9]]")]
    [InlineData(".a?//1, (.b?//2)", "5", "[1,2]")]
    // select, map and friends.
    [InlineData("map(select(. > 1))", "[1,2,3]", "[[2,3]]")]
    [InlineData(".[] | select(.ok) | .id", """[{"id":1,"ok":true},{"id":2,"ok":false}]""", "[1]")]
    [InlineData("map_values(. + 1)", """{"a":1,"b":2}""", """[{"a":2,"b":3}]""")]
    [InlineData("map(length)", """["héllo",[1,2],{"a":1},null,-3]""", "[[5,2,1,0,3]]")]
    [InlineData("keys, keys_unsorted", """{"b":1,"a":2}""", """[["a","b"],["b","a"]]""")]
    [InlineData("keys", "[5,6]", "[[0,1]]")]
    [InlineData("""has("a"), has("z")""", """{"a":null}""", "[true,false]")]
    [InlineData("has(0), has(1)", "[1]", "[true,false]")]
    [InlineData("""map(in({"a":1}))""", """["a","b"]""", "[[true,false]]")]
    [InlineData("to_entries", """{"a":1}""", """[[{"key":"a","value":1}]]""")]
    [InlineData("from_entries", """[{"name":"a","value":1},{"k":"b","v":2},{"key":3,"value":null},{"key":false,"value":4}]""", """[{"a":1,"b":2,"3":null,"false":4}]""")]
    [InlineData("with_entries(.value += 1)", """{"a":1,"b":2}""", """[{"a":2,"b":3}]""")]
    [InlineData("""with_entries(select(.key != "b"))""", """{"a":1,"b":2}""", """[{"a":1}]""")]
    [InlineData("add, any, all", "[1,2,3]", "[6,true,true]")]
    [InlineData("add", """["a","b"]""", "[\"ab\"]")]
    [InlineData("add", "[]", "[null]")]
    [InlineData("any(. > 2), all(. > 2)", "[1,3]", "[true,false]")]
    [InlineData("[range(3)], [range(0;10;4)], [range(3;0;-1)]", "null", "[[0,1,2],[0,4,8],[3,2,1]]")]
    [InlineData("first(range(5;10)), [limit(2; .[])], first, last, nth(1)", "[4,5,6]", "[5,[4,5],4,6,5]")]
    [InlineData("sort, sort_by(-.), unique, min, max, reverse", "[3,1,2,1]", "[[1,1,2,3],[3,2,1,1],[1,2,3],1,3,[1,2,1,3]]")]
    [InlineData("sort_by(.a) | map(.b)", """[{"a":2,"b":"x"},{"a":1,"b":"y"},{"a":2,"b":"z"}]""", """[["y","x","z"]]""")]
    [InlineData("group_by(.a) | map(length)", """[{"a":2},{"a":1},{"a":2}]""", "[[1,2]]")]
    [InlineData("unique_by(length), min_by(length), max_by(length)", """["ab","c","de"]""", """[["c","ab"],"c","de"]""")]
    [InlineData("flatten, flatten(1)", "[1,[2,[3]]]", "[[1,2,3],[1,2,[3]]]")]
    [InlineData("""contains(["b"]), contains(["x"]), inside(["abc","d"])""", """["abc"]""", "[true,false,true]")]
    [InlineData("""contains({"a":{"b":1}}), contains({"a":{"b":2}})""", """{"a":{"b":1,"c":2}}""", "[true,false]")]
    [InlineData("""indices(", "), index(","), rindex(",")""", "\"a, b, c\"", "[[1,4],1,4]")]
    [InlineData("indices(1), indices([1,2])", "[0,1,2,1,2]", "[[1,3],[1,3]]")]
    [InlineData("transpose", "[[1,2],[3]]", "[[[1,3],[2,null]]]")]
    [InlineData("walk(if type == \"number\" then . + 1 else . end)", """{"a":[1,{"b":2}]}""", """[{"a":[2,{"b":3}]}]""")]
    [InlineData("[.[] | type]", """[null,true,1,"s",[],{}]""", """[["null","boolean","number","string","array","object"]]""")]
    [InlineData("[.[] | tostring]", """[1,"1",[1],{"a":"x"},null]""", """[["1","1","[1]","{\"a\":\"x\"}","null"]]""")]
    [InlineData("""map(tonumber)""", """["42","1e3","-1.5",7]""", "[[42,1000,-1.5,7]]")]
    [InlineData("tojson, (tojson | fromjson)", """{"a":[1,"x\n"]}""", """["{\"a\":[1,\"x\\n\"]}",{"a":[1,"x\n"]}]""")]
    [InlineData("[.[] | tostring]", "[1.0, 100000000000000000000, 1e21, 0.000001, 1e-7]", """[["1","100000000000000000000","1e+21","0.000001","1e-7"]]""")]
    [InlineData("[until(. > 100; . * 2)], [limit(4; repeat(. * 2))], [while(. < 10; . + 3)]", "1", "[[128],[1,2,4,8],[1,4,7]]")]
    [InlineData("isempty(empty), isempty(1), IN(1,2), IN(.[]; 5, 6)", "[3,4]", "[true,false,false,false]")]
    [InlineData("[paths], [leaf_paths], [paths(type == \"number\")]", """{"a":[1]}""", """[[["a"],["a",0]],[["a",0]],[["a",0]]]""")]
    [InlineData("""getpath(["a","b"]), getpath(["x","y"]), [path(.x[0].b)], [path(..)]""", """{"a":{"b":1}}""", """[1,null,[["x",0,"b"]],[[],["a"],["a","b"]]]""")]
    [InlineData("""setpath(["a",1]; 5), delpaths([["b"]])""", """{"b":2}""", """[{"b":2,"a":[null,5]},{}]""")]
    [InlineData("pick(.a.b, .c)", """{"a":{"b":1,"x":2},"c":3,"d":4}""", """[{"a":{"b":1},"c":3}]""")]
    [InlineData("[splits(\", *\")]", "\"a, b,c\"", """[["a","b","c"]]""")]
    [InlineData("ascii, ([65, 233] | implode), (\"Aé\" | explode)", "65", """["A","Aé",[65,233]]""")]
    [InlineData("floor, ceil, round, sqrt, fabs, pow(.; 2), log10", "16.5", "[16,17,17,4.06201920231798,16.5,272.25,1.2174839442139063]")]
    [InlineData("todate, (todate | fromdate), strftime(\"%Y/%m/%d %H:%M %a\"), (gmtime | mktime)", "1425599621", """["2015-03-05T23:53:41Z",1425599621,"2015/03/05 23:53 Thu",1425599621]""")]
    // Strings.
    [InlineData("ascii_downcase, ascii_upcase", "\"HeLLo é\"", """["hello é","HELLO é"]""")]
    [InlineData("""split(","), (split(",") | join("-"))""", "\"a,b,c\"", """[["a","b","c"],"a-b-c"]""")]
    [InlineData("""join("-")""", """["a",1,null,true]""", "[\"a-1--true\"]")]
    [InlineData("""split("")""", "\"abc\"", """[["a","b","c"]]""")]
    [InlineData("""test("^refs/heads/"), test("MAIN"), test("MAIN"; "i")""", "\"refs/heads/main\"", "[true,false,true]")]
    [InlineData("""startswith("refs/"), endswith("main"), ltrimstr("refs/heads/"), rtrimstr("/main")""", "\"refs/heads/main\"", """[true,true,"main","refs/heads"]""")]
    [InlineData("trim, ltrim, rtrim", "\"  x  \"", """["x","x  ","  x"]""")]
    [InlineData("""capture("(?<user>[a-z]+)@(?<host>.+)")""", "\"joe@example.com\"", """[{"user":"joe","host":"example.com"}]""")]
    [InlineData("""[match("a+"; "g") | .offset, .length]""", "\"xaayaaa\"", "[[1,2,4,3]]")]
    [InlineData("""[match("b").offset], indices("b"), length, utf8bytelength""", "\"😀ab\"", "[[2],[2],3,6]")]
    [InlineData("""match("(b)(x)?") | .captures | map(.string)""", "\"abc\"", """[["b",null]]""")]
    [InlineData("""[scan("[0-9]+")], [scan("(a)(b)")]""", "\"a1b22ab\"", """[["1","22"],[["a","b"]]]""")]
    [InlineData("""sub("(?<x>[a-z])"; "<\(.x)>"), gsub("[aeiou]"; "_"), gsub("(?<d>\\d)"; "\(.d | tonumber + 1)")""", "\"hello 19\"", """["<h>ello 19","h_ll_ 19","hello 210"]""")]
    [InlineData("""[sub("a"; "1", "2")]""", "\"abc\"", """[["1bc","2bc"]]""")]
    [InlineData("""split(", *"; null)""", "\"a, b,c\"", """[["a","b","c"]]""")]
    [InlineData(""" "hello \(.name)!", "\(1 + 2) \([1]) \(null)" """, """{"name":"x"}""", """["hello x!","3 [1] null"]""")]
    [InlineData(""" "\(1,2)-\(3,4)" """, "null", """["1-3","2-3","1-4","2-4"]""")]
    [InlineData("""@base64, (@base64 | @base64d), @uri, @html, @sh, @json, @text""", "\"<a&b> é'\"", """["PGEmYj4gw6kn","<a&b> é'","%3Ca%26b%3E%20%C3%A9%27","&lt;a&amp;b&gt; é&#39;","'<a&b> é'\\'''","\"<a&b> é'\"","<a&b> é'"]""")]
    [InlineData("""@csv, @tsv""", """["a\"b",1,null,true,"t\tx"]""", """["\"a\"\"b\",1,,true,\"t\tx\"","a\"b\t1\t\ttrue\tt\\tx"]""")]
    [InlineData("""@base64 "id=\(.a)" """, """{"a":"x"}""", """["id=eA=="]""")]
    // reduce, foreach, def.
    [InlineData("reduce .[] as $x (0; . + $x)", "[1,2,3]", "[6]")]
    [InlineData("[foreach .[] as $x (0; . + $x)], [foreach .[] as $x (0; . + $x; [$x, .])]", "[1,2]", "[[1,3],[[1,1],[2,3]]]")]
    [InlineData("reduce .[] as [$k, $v] ({}; .[$k] = $v)", """[["a",1],["b",2]]""", """[{"a":1,"b":2}]""")]
    [InlineData("def inc(f): f + 1; inc(.a)", """{"a":1}""", "[2]")]
    [InlineData("def fac: if . <= 1 then 1 else . * (. - 1 | fac) end; fac", "5", "[120]")]
    [InlineData("def f($x; $y): $x * $y + x; f(.a; 10)", """{"a":2}""", "[22]")]
    [InlineData("def map(f): \"shadowed\"; map(.)", "[1]", "[\"shadowed\"]")]
    [InlineData("def f: def g: 3; g * 2; f", "null", "[6]")]
    // try/catch and errors as values.
    [InlineData("""try error("x") catch .""", "null", "[\"x\"]")]
    [InlineData("""try error({"code":1}) catch .code""", "null", "[1]")]
    [InlineData("""[.[] | try tonumber catch "bad"]""", """["1","x"]""", """[[1,"bad"]]""")]
    [InlineData("[.[] | (1 / .)?]", "[1,0,2]", "[[1,0.5]]")]
    [InlineData("try (1, error(\"x\"), 3) catch .", "null", "[1,\"x\"]")]
    [InlineData(".a[]? // \"none\"", """{"a":5}""", "[\"none\"]")]
    // Assignment and update, del.
    [InlineData(".a = 1", "{}", """[{"a":1}]""")]
    [InlineData(".a.b = .c", """{"c":5}""", """[{"c":5,"a":{"b":5}}]""")]
    [InlineData(".a |= . + 1", """{"a":1}""", """[{"a":2}]""")]
    [InlineData(".[] |= . * 2", "[1,2]", "[[2,4]]")]
    [InlineData(".a += 1 | .b *= 2", """{"a":1,"b":"2"}""", """[{"a":2,"b":"22"}]""")]
    [InlineData(".a -= 1 | .b /= 2 | .c %= 2", """{"a":1,"b":5,"c":5}""", """[{"a":0,"b":2.5,"c":1}]""")]
    [InlineData(".a //= 5 | .b //= 5", """{"b":1}""", """[{"b":1,"a":5}]""")]
    [InlineData(".a[1] = 9", "{}", """[{"a":[null,9]}]""")]
    [InlineData(".items[] |= {name}", """{"items":[{"name":"a","x":1}]}""", """[{"items":[{"name":"a"}]}]""")]
    [InlineData("(.. | select(type == \"string\")) |= ascii_upcase", """{"a":"x","b":[1,"y"]}""", """[{"a":"X","b":[1,"Y"]}]""")]
    [InlineData(".[] |= empty", "[1,2,3]", "[[]]")]
    [InlineData(".[1:3] = [\"x\"]", "[1,2,3,4]", """[[1,"x",4]]""")]
    [InlineData(".a = (1,2)", "{}", """[{"a":1},{"a":2}]""")]
    [InlineData("(.a, .b) = 0", "{}", """[{"a":0,"b":0}]""")]
    [InlineData("del(.a)", """{"a":1,"b":2}""", """[{"b":2}]""")]
    [InlineData("del(.[1,2])", "[1,2,3,4]", "[[1,4]]")]
    [InlineData("del(.[] | select(. == 2))", "[1,2,3,2]", "[[1,3]]")]
    [InlineData("del(.a.b, .c[0])", """{"a":{"b":1,"x":2},"c":[1,2]}""", """[{"a":{"x":2},"c":[2]}]""")]
    [InlineData("del(.missing.deeper)", """{"a":1}""", """[{"a":1}]""")]
    // What Argo users write: reshape a webhook body.
    [InlineData("""{repo: .body.repository.full_name, branch: (.body.ref | ltrimstr("refs/heads/")), authors: [.body.commits[].author.name] | unique}""",
        """{"body":{"ref":"refs/heads/dev","repository":{"full_name":"o/r"},"commits":[{"author":{"name":"b"}},{"author":{"name":"a"}},{"author":{"name":"b"}}]}}""",
        """[{"repo":"o/r","branch":"dev","authors":["a","b"]}]""")]
    [InlineData(""".body.labels |= map(select(startswith("ci/"))) | .body.count = (.body.labels | length)""",
        """{"body":{"labels":["ci/a","x","ci/b"]}}""",
        """[{"body":{"labels":["ci/a","ci/b"],"count":2}}]""")]
    public void Programs_produce_their_outputs(string program, string input, string expected) => Check(program, input, expected);

    [Fact]
    public void Object_keys_keep_their_order_and_numbers_print_like_jq()
    {
        Outputs("{z: 1, a: 2} + {m: 3}", "null").ShouldBe("""[{"z":1,"a":2,"m":3}]""");
        Outputs(".big", """{"big":12345678901234}""").ShouldBe("[12345678901234]");
    }

    [Fact]
    public void Now_reads_the_given_clock()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        Outputs("now | todate", "null", clock).ShouldBe("""["2023-11-14T22:13:20Z"]""");
    }

    [Fact]
    public void Parsing_is_memoised_by_text()
    {
        JqProgram.Parse(".a | .b").ShouldBeSameAs(JqProgram.Parse(".a | .b"));
    }

    private static CloudEvent Event(string data) =>
        new("id-7", "github", "push", "push", DateTimeOffset.UnixEpoch, Encoding.UTF8.GetBytes(data), "text/plain");

    private static string Apply(string jq, string data) =>
        Encoding.UTF8.GetString(EventTransformer.Apply(new DependencyTransform { Jq = jq }, Event(data)).Data.Span);

    [Fact]
    public void Transform_replaces_the_data_with_the_first_output_and_keeps_the_envelope()
    {
        var e = Event("""{"body":{"a":1,"b":"é"}}""");
        var result = EventTransformer.Apply(new DependencyTransform { Jq = ".body, {second: true}" }, e);
        Encoding.UTF8.GetString(result.Data.Span).ShouldBe("""{"a":1,"b":"é"}""");
        result.ShouldBe(e with { Data = result.Data, DataContentType = "application/json" });
        Apply(".a += 1 | .b *= 2", """{"a":1,"b":"2"}""").ShouldBe("""{"a":2,"b":"22"}""");
        Apply("{n: (.x / 3)}", """{"x":1}""").ShouldBe("""{"n":0.3333333333333333}""");
    }

    [Fact]
    public void Transform_without_data_is_a_no_op()
    {
        var empty = new CloudEvent("id", "s", "t", "x", DateTimeOffset.UnixEpoch, ReadOnlyMemory<byte>.Empty);
        EventTransformer.Apply(new DependencyTransform { Jq = "error(\"not run\")" }, empty).ShouldBeSameAs(empty);
        var data = Event("{}");
        EventTransformer.Apply(new DependencyTransform(), data).ShouldBeSameAs(data);
    }

    [Theory]
    [InlineData(".a", """{"a":[1]}""", "jq transform must produce a JSON object (it replaces the event data), but produced array ([1])")]
    [InlineData("empty", "{}", "jq transform produced no output")]
    [InlineData(".a.b", """{"a":"x"}""", "jq transform failed: Cannot index string with \"b\"")]
    [InlineData(".", "not json", "cannot transform event id-7: its data is not valid JSON")]
    public void Transform_failures_say_why(string jq, string data, string message) =>
        Should.Throw<TransformException>(() => Apply(jq, data)).Message.ShouldStartWith(message);

    [Theory]
    [InlineData(".a", "5", "Cannot index number with \"a\"")]
    [InlineData(".a", "[1]", "Cannot index array with \"a\"")]
    [InlineData(".[0]", "{}", "Cannot index object with number")]
    [InlineData(".[]", "5", "Cannot iterate over number (5)")]
    [InlineData(".[]", "null", "Cannot iterate over null")]
    [InlineData(".a + 1", """{"a":"x"}""", "string (\"x\") and number (1) cannot be added")]
    [InlineData("{} - 1", "null", "object ({}) and number (1) cannot be subtracted")]
    [InlineData("1 / 0", "null", "number (1) and number (0) cannot be divided because the divisor is zero")]
    [InlineData("5 % 0", "null", "number (5) and number (0) cannot be divided because the divisor is zero")]
    [InlineData("-.", "\"x\"", "string (\"x\") cannot be negated")]
    [InlineData("error(\"boom\")", "null", "boom")]
    [InlineData("""error({"a":1})""", "null", """{"a":1} (not a string)""")]
    [InlineData("length", "true", "boolean (true) has no length")]
    [InlineData("keys", "1", "number (1) has no keys")]
    [InlineData("has(1)", "{}", "Cannot check whether object has a number key")]
    [InlineData("tonumber", "\"abc\"", "Cannot parse 'abc' as JSON")]
    [InlineData("test(1)", "\"a\"", "number (1) cannot be matched, as it is not a string")]
    [InlineData("test(\"a\")", "1", "number (1) cannot be matched, as it is not a string")]
    [InlineData("test(\"(\")", "\"a\"", "( (at offset 0) is not a valid regex")]
    [InlineData("test(\"a\"; \"q\")", "\"a\"", "q is not a valid modifier string")]
    [InlineData("ascii_downcase", "1", "ascii_downcase input must be a string")]
    [InlineData("startswith(1)", "\"a\"", "startswith() requires string inputs")]
    [InlineData("split(1)", "\"a\"", "split input and separator must be strings")]
    [InlineData("join(\",\")", """[[1]]""", "Cannot join with array")]
    [InlineData("{(1): 2}", "null", "Object keys must be strings, not number (1)")]
    [InlineData("sort", "{}", "object ({}) cannot be sorted, as it is not an array")]
    [InlineData("contains(\"x\")", "{}", "object ({}) and string (\"x\") cannot have their containment checked")]
    [InlineData("path(.a[0])", "{\"a\":{}}", "Cannot index object with number")]
    [InlineData("path(1)", "null", "Invalid path expression with result 1")]
    [InlineData("(.a | length) = 1", """{"a":"x"}""", "Invalid path expression with result 1")]
    [InlineData(".[-5] = 1", "[1]", "Out of bounds negative array index")]
    [InlineData("fromjson", "\"{nope\"", "{nope (while parsing '{nope')")]
    [InlineData("input", "null", "No more inputs")]
    [InlineData("getpath([\"a\",\"b\"])", "{\"a\":1}", "Cannot index number with \"b\"")]
    public void Runtime_errors_read_like_jq(string program, string input, string message)
    {
        var e = Should.Throw<TransformException>(() => Outputs(program, input));
        e.Message.ShouldStartWith(message);
    }

    [Theory]
    [InlineData("[range(1e9)]", "exceeded its budget")]
    [InlineData("[repeat(.)]", "exceeded its budget")]
    [InlineData("reduce range(40) as $i (\"ab\"; . + .)", "exceeded its budget")]
    [InlineData("def f: f; f", "nested deeper than 200 levels")]
    [InlineData("def f: 1 + f; f", "nested deeper than 200 levels")]
    [InlineData("reduce range(2000) as $i (null; [.]) | tojson", "nested deeper than 512 levels")]
    [InlineData("try ([repeat(.)]) catch \"caught\"", "exceeded its budget")]
    public void Runaway_programs_are_stopped_and_try_cannot_hide_it(string program, string message)
    {
        var e = Should.Throw<TransformException>(() => Outputs(program, "1"));
        e.Message.ShouldContain(message);
    }

    [Theory]
    [InlineData(".a |", 4, "unexpected end of program")]
    [InlineData("{a: }", 4, "unexpected '}'")]
    [InlineData(".[", 2, "unexpected end of program")]
    [InlineData("(1", 2, "expected ')'")]
    [InlineData("1 +* 2", 3, "unexpected '*'")]
    [InlineData("foo(1)", 0, "foo/1 is not defined")]
    [InlineData(".a | map", 5, "map/0 is not defined")]
    [InlineData(".x + $x", 5, "$x is not defined")]
    [InlineData("\"abc", 0, "unterminated string literal")]
    [InlineData("\"a\\q\"", 2, "invalid escape '\\q'")]
    [InlineData("if . then 1", 11, "expected 'end'")]
    [InlineData("@nope \"x\"", 0, "@nope is not a valid format")]
    [InlineData(". as [$a] $a", 10, "expected '|'")]
    [InlineData("label $f | 1", 0, "label/break are not supported")]
    [InlineData(".a = 1 = 2", 7, "assignments do not chain")]
    [InlineData("1 < 2 < 3", 6, "comparisons do not chain")]
    [InlineData(".a ~ 1", 3, "unexpected character '~'")]
    [InlineData(")", 0, "unexpected ')'")]
    [InlineData("\"\\(1 + \"", 7, "unterminated string")]
    public void Syntax_errors_say_where_and_why(string program, int position, string reason)
    {
        var e = Should.Throw<TransformException>(() => JqProgram.Parse(program));
        e.Position.ShouldBe(position);
        e.Message.ShouldContain(reason);
        e.Message.ShouldContain($"(at position {position})");
    }
}
