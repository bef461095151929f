using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Shouldly;
using EventGateway.Events.Log;
using EventGateway.Events.Sensors.Filters;
using EventGateway.Events.Sensors.Transforms;
using EventGateway.Languages;
using EventGateway.Languages.Lua;
using EventGateway.Model;

namespace EventGateway.Tests.Languages.Lua;

/// <summary>Lua transforms and script filters: JSON ⇄ Lua conversion, Argo's semantics, and the sandbox.</summary>
public sealed class LuaTests
{
    private static readonly DateTimeOffset Time = new(2024, 3, 5, 10, 30, 0, TimeSpan.Zero);

    private static CloudEvent Event(string data) =>
        new("id-1", "webhook", "push", "example", Time, Encoding.UTF8.GetBytes(data), "text/plain");

    private static string Transform(string script, string data, LuaLimits? limits = null)
    {
        using var doc = JsonDocument.Parse(data);
        return Encoding.UTF8.GetString(LuaScript.Transform(script, doc.RootElement, limits));
    }

    private static void Same(string actual, string expected) =>
        JsonNode.DeepEquals(JsonNode.Parse(actual), JsonNode.Parse(expected)).ShouldBeTrue($"expected {expected}, got {actual}");

    private static TransformException Fails(string script, string data = "{}", LuaLimits? limits = null) =>
        Should.Throw<TransformException>(() => Transform(script, data, limits));

    [Fact]
    public void Argo_transform_edits_the_event_and_keeps_the_envelope()
    {
        var e = Event("""{"a":1,"b":"2","c":{"d":[3]}}""");
        var result = EventTransformer.Apply(new DependencyTransform { Script = "event.c.d[1]=4\nreturn event" }, e);
        Same(Encoding.UTF8.GetString(result.Data.Span), """{"a":1,"b":"2","c":{"d":[4]}}""");
        result.ShouldBe(e with { Data = result.Data, DataContentType = "application/json" });
    }

    [Fact]
    public void Json_becomes_lua_values()
    {
        var result = Transform("""
            return {
              s = type(event.s), i = math.type(event.i), f = math.type(event.f), b = event.b, len = #event.arr,
              first = event.arr[1], nested = event.o.x, null_is_nil = event.nul == nil, hole = event.holes[2] == nil,
              unicode = utf8.len(event.u), empty_obj = next(event.eo) == nil
            }
            """, """{"s":"x","i":5,"f":1.5,"b":true,"arr":[10,20,30],"o":{"x":"y"},"nul":null,"holes":[1,null,3],"u":"héllo ✓","eo":{}}""");
        Same(result, """{"s":"string","i":"integer","f":"float","b":true,"len":3,"first":10,"nested":"y","null_is_nil":true,"hole":true,"unicode":7,"empty_obj":true}""");
    }

    [Fact]
    public void An_unchanged_event_round_trips()
    {
        const string data = """{"a":[1,2.5,"x",true,{"b":[]}],"e":{},"u":"héllo ✓ \"q\"","big":9007199254740993,"holes":[1,null,3],"neg":-0.25}""";
        Same(Transform("return event", data), data);
        Transform("return event", """{"big":9007199254740993}""").ShouldBe("""{"big":9007199254740993}""");
        Transform("return event", "[1,[],{}]").ShouldBe("[1,[],{}]");
    }

    [Fact]
    public void Lua_tables_become_json()
    {
        var result = Transform("""
            return {
              list = {1, 2, 3}, map = {a = 1}, empty = {}, marked = setmetatable({}, {__is_array = true}),
              mixed = {1, 2, x = 3}, sparse = {[1] = "a", [3] = "c"}, far = {[10] = "z"},
              float = 2.0, int = 3, neg = -0.5, keys = {[true] = 1, [2.5] = 2}, nested = {{}, {{1}}}
            }
            """, "{}");
        Same(result, """
            {"list":[1,2,3],"map":{"a":1},"empty":{},"marked":[],"mixed":{"1":1,"2":2,"x":3},"sparse":["a",null,"c"],
             "far":{"10":"z"},"float":2,"int":3,"neg":-0.5,"keys":{"2.5":2,"true":1},"nested":[{},[[1]]]}
            """);
        result.ShouldStartWith("""{"empty":{},"far":""", Case.Sensitive, "object keys are written in sorted order");
    }

    [Theory]
    [InlineData("return {f = print}", "at result.f: a function cannot be converted to JSON")]
    [InlineData("local t = {} t.self = t return t", "at result.self: the table contains itself")]
    [InlineData("return {a = {0/0}}", "at result.a[1]: the number NaN cannot be represented in JSON")]
    [InlineData("""return {[1] = "a", ["1"] = "b", x = 1}""", "two keys both become \"1\" in JSON")]
    [InlineData("return {[{}] = 1}", "a table key of type table cannot be a JSON object key")]
    [InlineData("return \"hello\"", "script must return a table (the new event data), but it returned a string")]
    [InlineData("local x = 1", "script must return a table (the new event data), but it returned nothing")]
    [InlineData("return event.a.b.c", "script:1: attempt to index a nil value (field 'a')")]
    [InlineData("error('boom')", "script:1: boom")]
    [InlineData("error({})", "script raised an error value of type table")]
    [InlineData("coroutine.yield()", "script yielded outside a coroutine")]
    [InlineData("return {", "cannot compile Lua script: script:1: unexpected symbol near <eof>")]
    public void Bad_results_and_errors_say_what_and_where(string script, string message) =>
        Fails(script).Message.ShouldContain(message);

    [Fact]
    public void Dangerous_libraries_are_not_there()
    {
        var result = Transform("""
            local names = {"os", "io", "require", "dofile", "loadfile", "load", "debug", "package", "collectgarbage", "loadstring"}
            local found = {}
            for _, n in ipairs(names) do found[n] = type(_G[n]) end
            found.dump = type(string.dump)
            found.string_metatable = type(getmetatable(""))
            return found
            """, "{}");
        Same(result, """
            {"os":"nil","io":"nil","require":"nil","dofile":"nil","loadfile":"nil","load":"nil","debug":"nil","package":"nil",
             "collectgarbage":"nil","loadstring":"nil","dump":"nil","string_metatable":"boolean"}
            """);
        Fails("os.execute('touch /tmp/egw-lua-pwned')").Message.ShouldContain("attempt to index a nil value (global 'os')");
        File.Exists("/tmp/egw-lua-pwned").ShouldBeFalse();
    }

    [Theory]
    [InlineData("while true do end")]
    [InlineData("pcall(function() while true do end end) return event")]
    [InlineData("coroutine.wrap(function() while true do end end)() return event")]
    [InlineData("local co = coroutine.wrap(function() while true do end end) while true do co() end")]
    [InlineData("local t = {3, 2, 1} table.sort(t, function(a, b) while true do end end)")]
    [InlineData("string.gsub('abc', '%w', function(c) while true do end end)")]
    [InlineData("xpcall(error, function() while true do end end)")]
    public void Runaway_scripts_are_stopped_by_the_instruction_budget(string script)
    {
        var clock = Stopwatch.StartNew();
        Fails(script, limits: new LuaLimits(Instructions: 1_000_000)).Message.ShouldContain("script exceeded its instruction budget (1000000 instructions)");
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void The_default_budget_stops_an_infinite_loop_too() =>
        Fails("while true do end").Message.ShouldContain("instruction budget (10000000 instructions)");

    [Theory]
    [InlineData("local t = {} for i = 1, 1e8 do t[i] = string.rep('x', 100) .. i end")]
    [InlineData("local s = string.rep('x', 1e9)")]
    public void Memory_is_bounded(string script) =>
        Fails(script, limits: new LuaLimits(MemoryBytes: 4 * 1024 * 1024)).Message.ShouldContain("exceeded its memory limit (4 MiB)");

    [Theory]
    [InlineData("setmetatable({}, {__index = function() return 1 end})", "metatable field '__index' is not allowed")]
    [InlineData("setmetatable({}, {__gc = true})", "metatable field '__gc' is not allowed")]
    public void Metatables_may_not_hold_functions(string script, string message) => Fails(script).Message.ShouldContain(message);

    [Fact]
    public void Metatables_with_data_work_and_stay_out_of_reach()
    {
        var result = Transform("""
            local base = {greeting = "hi"}
            local t = setmetatable({}, {__index = base})
            local mt = getmetatable(t)
            mt.__index = {greeting = "changed"}        -- editing what getmetatable returned changes nothing
            local marker = getmetatable(event.arr)
            marker.__index = {x = 1}
            return {greeting = t.greeting, marked = marker.__is_array, x = event.arr.x == nil}
            """, """{"arr":[1]}""");
        Same(result, """{"greeting":"hi","marked":true,"x":true}""");
    }

    [Fact]
    public void Nothing_leaks_from_one_run_to_the_next()
    {
        Transform("leaked = 'secret'; string.upper = nil; table.insert = nil; return event", "{}");
        var result = Transform("return {leaked = leaked == nil, upper = ('a'):upper(), insert = type(table.insert)}", "{}");
        Same(result, """{"leaked":true,"upper":"A","insert":"function"}""");
    }

    [Fact]
    public void Sort_gsub_and_xpcall_behave_like_the_standard_library()
    {
        var result = Transform("""
            local t, u = {5, 3, 9, 1, 3}, {"b", "a", "c"}
            table.sort(t)
            table.sort(u, function(x, y) return x > y end)
            local function same(s, p, r)
              local a, an = string.gsub(s, p, r)
              local b, bn = string.gsub(s, p, function(...) local c = ... return r:gsub("%%1", c) end)
              return a == b and an == bn
            end
            local ok, msg = xpcall(function() error("boom") end, function(m) return "handled: " .. m end)
            return {
              t = t, u = u, ok = ok, msg = msg,
              upper = (string.gsub("hello world", "o", function(c) return c:upper() end)),
              swapped = (string.gsub("hello", "(h)(e)", function(a, b) return b .. a end)),
              anchored = (string.gsub("aaa", "^a", function() return "X" end)),
              kept = (string.gsub("a b c", "%s", function() return nil end)),
              count = select(2, string.gsub("abc", "", function() return "-" end)),
              same = same("abc", "", "-") and same("abc", "%w*", "<%1>") and same("hello world", "(o)", "[%1]")
                and same("a,b,,c", ",*", ";") and same("abc", "b*", "X") and same("", "x*", "y")
                and same("one two", "(%w+)", "%1!") and same("aaa", "^a", "b")
            }
            """, "{}");
        Same(result, """
            {"t":[1,3,3,5,9],"u":["c","b","a"],"ok":false,"msg":"handled: script:9: boom","upper":"hellO wOrld","swapped":"ehllo",
             "anchored":"Xaa","kept":"a b c","count":4,"same":true}
            """);
    }

    [Fact]
    public void Transform_without_data_or_with_bad_data()
    {
        var empty = new CloudEvent("id", "s", "t", "x", Time, ReadOnlyMemory<byte>.Empty);
        EventTransformer.Apply(new DependencyTransform { Script = "error('not run')" }, empty).ShouldBeSameAs(empty);
        var e = Should.Throw<TransformException>(() => EventTransformer.Apply(new DependencyTransform { Script = "return event" }, Event("not json")));
        e.Message.ShouldStartWith("cannot transform event id-1: its data is not valid JSON");
        Should.Throw<TransformException>(() => EventTransformer.Apply(new DependencyTransform { Script = "return event.x.y" }, Event("{}")))
            .Message.ShouldBe("script transform failed: script:1: attempt to index a nil value (field 'x')");
    }

    [Fact]
    public void Argo_runs_jq_when_both_are_set()
    {
        var result = EventTransformer.Apply(new DependencyTransform { Jq = "{by: \"jq\"}", Script = "return {by = 'lua'}" }, Event("{}"));
        Encoding.UTF8.GetString(result.Data.Span).ShouldBe("""{"by":"jq"}""");
    }

    [Fact]
    public void Transforms_run_concurrently()
    {
        var results = new string[64];
        Parallel.For(0, results.Length, i =>
            results[i] = Transform("local s = 0 for k = 1, event.n do s = s + k end return {sum = s}", $$"""{"n":{{i}}}"""));
        for (var i = 0; i < results.Length; i++)
        {
            results[i].ShouldBe($$"""{"sum":{{i * (i + 1) / 2}}}""");
        }
    }

    // Filters.
    private static CloudEventView View(string data) =>
        new("id-1", "webhook", "1.0", "push", "example", Time, "application/json", Encoding.UTF8.GetBytes(data));

    private static FilterResult Filter(string filterJson, string data, string? op = null) =>
        DependencyFilter.Evaluate(JsonSerializer.Deserialize<EventDependencyFilter>(filterJson, new JsonSerializerOptions(JsonSerializerDefaults.Web)),
            op, View(data), Time, null);

    private static string Script(string lua) => JsonSerializer.Serialize(new { script = lua });

    [Theory]
    // Argo's own cases (filter_script_test.go).
    [InlineData("if event.a == \"hello\" then return true else return false end", """{"a":"hello"}""", true, null)]
    [InlineData("if event.a == \"hello\" and event.b == \"world\" then return false else return true end", """{"a":"hello","b":"world"}""", false, "script filter returned false")]
    [InlineData("if event.a == \"hello\" return false else return true end", """{"a":"hello"}""", false, "script filter error (cannot compile Lua script: script:1: 'then' expected near 'return')")]
    [InlineData("if a.a == \"hello\" then return true else return false end", """{"a":"hello"}""", false, "script filter error (script:1: attempt to index a nil value (global 'a'))")]
    // Anything but true is a miss, as in Argo.
    [InlineData("return 'yes'", "{}", false, "script filter returned a string, not a boolean")]
    [InlineData("return nil", "{}", false, "script filter returned a nil, not a boolean")]
    [InlineData("local x = 1", "{}", false, "script filter returned nothing, not a boolean")]
    [InlineData("return event.body.value > 50 and #event.body.items == 2", """{"body":{"value":60,"items":[1,2]}}""", true, null)]
    [InlineData("while true do end", "{}", false, "script filter error (script exceeded its instruction budget (10000000 instructions))")]
    public void Script_filters(string lua, string data, bool passed, string? reason)
    {
        var result = Filter(Script(lua), data);
        result.Reason.ShouldBe(reason);
        result.Passed.ShouldBe(passed);
    }

    [Fact]
    public void Script_filters_without_data_pass_and_bad_json_fails()
    {
        Filter(Script("error('not run')"), string.Empty).Passed.ShouldBeTrue();
        Filter(Script("return true"), "not json").Reason.ShouldBe("script filter error (event data not valid JSON)");
        Filter(Script("return next(event) == nil"), "null").Passed.ShouldBeTrue("a JSON null is an empty table, as in Argo");
    }

    [Fact]
    public void Script_runs_last_and_combines_with_the_other_kinds_like_argo()
    {
        const string data = """{"body":{"value":60}}""";
        const string miss = """{"path":"body.value","type":"number","value":["1"]}""";
        const string hit = """{"path":"body.value","type":"number","value":["60"]}""";

        // and: every kind must pass; the first failing one is the reason.
        Filter($$"""{"data":[{{hit}}],"script":"return event.body.value == 60"}""", data).Passed.ShouldBeTrue();
        Filter($$"""{"data":[{{miss}}],"script":"error('not reached')"}""", data).Reason.ShouldBe("data filter body.value: 60 is not = any of [1]");
        Filter($$"""{"data":[{{hit}}],"script":"return false"}""", data).Reason.ShouldBe("script filter returned false");

        // or: one passing kind is enough; a script error still fails the event, and is the reason on its own.
        Filter($$"""{"data":[{{miss}}],"script":"return true"}""", data, "or").Passed.ShouldBeTrue();
        Filter($$"""{"data":[{{hit}}],"script":"return 1"}""", data, "or").Passed.ShouldBeTrue();
        Filter($$"""{"data":[{"path":"nope","type":"string","value":["x"]}],"context":{"source":"webhook"},"script":"error('bad')"}""", data, "or")
            .Reason.ShouldBe("script filter error (script:1: bad)");
        Filter($$"""{"data":[{{miss}}],"script":"return false"}""", data, "or")
            .Reason.ShouldBe("no filter passed: data filter body.value: 60 is not = any of [1]; script filter returned false");
    }

    [Fact]
    public void Filter_validation_compiles_the_script_at_load()
    {
        var errors = new List<string>();
        DependencyFilter.Validate(new EventDependencyFilter { Script = "if event.a then" }, "spec.dependencies[2].filters", (p, r) => errors.Add($"{p}: {r}"));
        errors.ShouldBe(["spec.dependencies[2].filters.script: cannot compile Lua script: script:1: 'end' expected near <eof>"]);
        errors.Clear();
        DependencyFilter.Validate(new EventDependencyFilter { Script = "return event.a == 1" }, "f", (p, r) => errors.Add(p));
        errors.ShouldBeEmpty();
    }
}
