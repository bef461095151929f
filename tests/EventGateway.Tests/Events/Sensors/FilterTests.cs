using System.Text;
using System.Text.Json;
using Shouldly;
using EventGateway.Events.Sensors.Filters;
using EventGateway.Model;

namespace EventGateway.Tests.Events.Sensors;

public class FilterTests
{
    private const string Data = """
        {"header": {"X-Github-Event": ["push"]},
         "body": {"ref": "refs/heads/dev", "value": 60, "message": "hello world", "admin": true, "count": "7",
                  "flag": "False", "a": "b", "c": 10, "neg": -2.5, "items": [{"name": "a"}, {"name": "b"}]},
         "metadata": {}}
        """;

    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    private static readonly DateTimeOffset EventTime = new(2024, 3, 5, 10, 30, 0, TimeSpan.Zero);

    private static CloudEventView Event(string data = Data, DateTimeOffset? time = null) =>
        new("id-1", "webhook", "1.0", "webhook", "example", time ?? EventTime, "application/json", Encoding.UTF8.GetBytes(data));

    private static EventDependencyFilter Parse(string json) => JsonSerializer.Deserialize<EventDependencyFilter>(json, Web)!;

    private static FilterResult Run(string filterJson, string? op = null, CloudEventView? e = null, TimeZoneInfo? zone = null) =>
        DependencyFilter.Evaluate(Parse(filterJson), op, e ?? Event(), EventTime, zone);

    private static void Check(FilterResult result, string? reason)
    {
        result.Reason.ShouldBe(reason);
        result.Passed.ShouldBe(reason is null);
    }

    [Fact]
    public void No_filter_and_empty_filter_pass()
    {
        DependencyFilter.Evaluate(null, null, Event(), EventTime, null).Passed.ShouldBeTrue();
        Check(Run("{}"), null);
    }

    [Theory]
    // Strings are unanchored Go regular expressions, values OR-ed.
    [InlineData("""{"path":"body.ref","type":"string","value":["refs/heads/main"]}""", """data filter body.ref: "refs/heads/dev" does not match any of ["refs/heads/main"]""")]
    [InlineData("""{"path":"body.ref","type":"string","value":["refs/heads/main","dev"]}""", null)]
    [InlineData("""{"path":"body.ref","type":"string","value":["^dev$"]}""", """data filter body.ref: "refs/heads/dev" does not match any of ["^dev$"]""")]
    [InlineData("""{"path":"body.message","type":"string","value":["hello"]}""", null)]
    [InlineData("""{"path":"body.ref","type":"string","comparator":"!=","value":["main"]}""", null)]
    [InlineData("""{"path":"body.ref","type":"string","comparator":"!=","value":["dev","refs"]}""", """data filter body.ref: "refs/heads/dev" matches all of ["dev", "refs"]""")]
    [InlineData("""{"path":"body.value","type":"string","value":["^60$"]}""", null)]
    [InlineData("""{"path":"header.X-Github-Event","type":"string","value":["push"]}""", null)]
    [InlineData("""{"path":"body.items.#.name","type":"string","value":["\"b\""]}""", null)]
    // Numbers: comparator default "=", values parsed as float64, string data read as numbers.
    [InlineData("""{"path":"body.value","type":"number","comparator":">","value":["50.0"]}""", null)]
    [InlineData("""{"path":"body.value","type":"number","comparator":">","value":["60"]}""", "data filter body.value: 60 is not > any of [60]")]
    [InlineData("""{"path":"body.value","type":"number","comparator":">=","value":["60"]}""", null)]
    [InlineData("""{"path":"body.value","type":"number","comparator":"<","value":["61"]}""", null)]
    [InlineData("""{"path":"body.value","type":"number","comparator":"<=","value":["59"]}""", "data filter body.value: 60 is not <= any of [59]")]
    [InlineData("""{"path":"body.value","type":"number","comparator":"!=","value":["60"]}""", "data filter body.value: 60 is not != any of [60]")]
    [InlineData("""{"path":"body.value","type":"number","value":["1","60.0"]}""", null)]
    [InlineData("""{"path":"body.count","type":"number","value":["7"]}""", null)]
    [InlineData("""{"path":"body.neg","type":"number","comparator":"<","value":["-2"]}""", null)]
    [InlineData("""{"path":"body.items.#","type":"number","value":["2"]}""", null)]
    // Bools: Go ParseBool on values; data read like gjson Bool() ("False" string is false).
    [InlineData("""{"path":"body.admin","type":"bool","value":["true"]}""", null)]
    [InlineData("""{"path":"body.admin","type":"bool","value":["F","0"]}""", "data filter body.admin: true does not equal any of [F, 0]")]
    [InlineData("""{"path":"body.flag","type":"bool","value":["false"]}""", null)]
    [InlineData("""{"path":"body.value","type":"bool","value":["1"]}""", null)]
    // Errors, worded like Argo's.
    [InlineData("""{"path":"body.missing","type":"string","value":["x"]}""", "data filter error (path 'body.missing' does not exist)")]
    [InlineData("""{"path":"body.ref","type":"string","value":[]}""", "data filter error (no values specified)")]
    [InlineData("""{"path":"body.ref","type":"object","value":["x"]}""", "data filter error (unsupported JSON type 'object')")]
    [InlineData("""{"path":"body.value","type":"number","value":["abc"]}""", "data filter error (strconv.ParseFloat: parsing \"abc\": invalid syntax)")]
    // Templates: Go text/template with sprig over .Input (the value as a string); output compared as a string.
    [InlineData("""{"path":"body.a","type":"string","template":"x-{{ .Input }}","value":["^x-b$"]}""", null)]
    [InlineData("""{"path":"body.c","type":"number","template":"{{.Input}}5","value":["105"]}""", null)]
    [InlineData("""{"path":"body.a","type":"string","template":"{{ upper .Input | printf \"%s!\" }}","value":["^B!$"]}""", null)]
    [InlineData("""{"path":"body.a","type":"string","template":"{{ nope .Input }}","value":["x"]}""", "data filter error (template \"{{ nope .Input }}\" failed: template: param:1: function \"nope\" not defined)")]
    public void Data_filter(string dataFilter, string? reason)
    {
        Check(Run($$"""{"data":[{{dataFilter}}]}"""), reason);
    }

    [Theory]
    [InlineData(null, """[{"path":"body.a","type":"string","value":["b"]},{"path":"body.c","type":"number","value":["10"]}]""", null)]
    [InlineData("and", """[{"path":"body.a","type":"string","value":["b"]},{"path":"body.c","type":"number","value":["11"]}]""", "data filter body.c: 10 is not = any of [11]")]
    [InlineData("or", """[{"path":"body.a","type":"string","value":["z"]},{"path":"body.c","type":"number","value":["10"]}]""", null)]
    [InlineData("or", """[{"path":"body.a","type":"string","value":["z"]},{"path":"body.c","type":"number","value":["11"]}]""", """no data filter matched: data filter body.a: "b" does not match any of ["z"]; data filter body.c: 10 is not = any of [11]""")]
    // Argo: under "or" a match returns at once, an error earlier in the list does not stop it...
    [InlineData("or", """[{"path":"body.nope","type":"string","value":["z"]},{"path":"body.c","type":"number","value":["10"]}]""", null)]
    // ...but with no match, errors are reported.
    [InlineData("or", """[{"path":"body.nope","type":"string","value":["z"]},{"path":"body.c","type":"number","value":["11"]}]""", "data filter errors [path 'body.nope' does not exist]")]
    [InlineData("and", """[{"path":"body.nope","type":"string","value":["z"]},{"path":"body.c","type":"number","value":["10"]}]""", "data filter error (path 'body.nope' does not exist)")]
    public void Data_logical_operator(string? op, string filters, string? reason)
    {
        var opJson = op is null ? string.Empty : $"\"dataLogicalOperator\":\"{op}\",";
        Check(Run($$"""{{{opJson}}"data":{{filters}}}"""), reason);
    }

    [Theory]
    // Argo docs example: a == "b" || c != 10 over fields a and c.
    [InlineData("""{"expr":"a == \"b\" || c != 10","fields":[{"name":"a","path":"body.a"},{"name":"c","path":"body.c"}]}""", null)]
    [InlineData("""{"expr":"a == \"x\" && c == 10","fields":[{"name":"a","path":"body.a"},{"name":"c","path":"body.c"}]}""", "expr filter \"a == \\\"x\\\" && c == 10\" evaluated to false")]
    [InlineData("""{"expr":"c > 5 && n < 0","fields":[{"name":"c","path":"body.c"},{"name":"n","path":"body.neg"}]}""", null)]
    [InlineData("""{"expr":"n * 2 == -5","fields":[{"name":"n","path":"body.neg"}]}""", null)]
    [InlineData("""{"expr":"r =~ \"heads/d\"","fields":[{"name":"r","path":"body.ref"}]}""", null)]
    [InlineData("""{"expr":"admin","fields":[{"name":"admin","path":"body.admin"}]}""", null)]
    // govaluate compares a string parameter and a number as unequal.
    [InlineData("""{"expr":"n == 7","fields":[{"name":"n","path":"body.count"}]}""", "expr filter \"n == 7\" evaluated to false")]
    // Only boolean true passes; other results are a plain no.
    [InlineData("""{"expr":"c + 1","fields":[{"name":"c","path":"body.c"}]}""", "expr filter \"c + 1\" evaluated to 11")]
    // A filter without fields is skipped.
    [InlineData("""{"expr":"false","fields":[]}""", null)]
    [InlineData("""{"expr":"a == 1","fields":[{"name":"a","path":"body.nope"}]}""", "expr filter error (path 'body.nope' does not exist)")]
    [InlineData("""{"expr":"a == b","fields":[{"name":"a","path":"body.a"}]}""", "expr filter error (No parameter 'b' found.)")]
    [InlineData("""{"expr":"a ==","fields":[{"name":"a","path":"body.a"}]}""", "expr filter error (unexpected end of expression)")]
    public void Expr_filter(string exprFilter, string? reason)
    {
        Check(Run($$"""{"exprs":[{{exprFilter}}]}"""), reason);
    }

    [Theory]
    [InlineData(null, "c == 10", "c == 11", "expr filter \"c == 11\" evaluated to false")]
    [InlineData("or", "c == 10", "c == 11", null)]
    [InlineData("or", "c == 12", "c == 11", "no expr filter matched: expr filter \"c == 12\" evaluated to false; expr filter \"c == 11\" evaluated to false")]
    public void Expr_logical_operator(string? op, string first, string second, string? reason)
    {
        var filter = new EventDependencyFilter
        {
            ExprLogicalOperator = op,
            Exprs =
            [
                new ExprFilter { Expr = first, Fields = [new PayloadField { Name = "c", Path = "body.c" }] },
                new ExprFilter { Expr = second, Fields = [new PayloadField { Name = "c", Path = "body.c" }] },
            ],
        };
        Check(DependencyFilter.Evaluate(filter, null, Event(), EventTime, null), reason);
    }

    [Theory]
    [InlineData("""{"type":"webhook","source":"webhook"}""", null)]
    [InlineData("""{"subject":"example","datacontenttype":"application/json"}""", null)]
    [InlineData("""{"source":"calendar"}""", "context filter: source \"webhook\" does not equal \"calendar\"")]
    [InlineData("""{"subject":"other"}""", "context filter: subject \"example\" does not equal \"other\"")]
    // Argo only compares type, subject, source and datacontenttype.
    [InlineData("""{"id":"other","specversion":"0.3"}""", null)]
    public void Context_filter(string context, string? reason)
    {
        Check(Run("""{"context":""" + context + "}"), reason);
    }

    [Theory]
    [InlineData("10:30:00", "11:00:00", "10:30:00", null)] // start inclusive
    [InlineData("09:00:00", "10:30:00", "10:30:00", "time filter: event time 10:30:00 (UTC) is outside [09:00:00, 10:30:00)")] // stop exclusive
    [InlineData("02:30:00", "04:30:00", "03:00:00", null)] // Argo docs example
    [InlineData("02:30:00", "04:30:00", "05:00:00", "time filter: event time 05:00:00 (UTC) is outside [02:30:00, 04:30:00)")]
    [InlineData("22:00:00", "01:00:00", "23:59:59", null)] // across midnight
    [InlineData("22:00:00", "01:00:00", "00:30:00", null)]
    [InlineData("22:00:00", "01:00:00", "01:00:00", "time filter: event time 01:00:00 (UTC) is outside [22:00:00, 01:00:00)")]
    [InlineData("22:00:00", "01:00:00", "12:00:00", "time filter: event time 12:00:00 (UTC) is outside [22:00:00, 01:00:00)")]
    [InlineData("08:00:00", "08:00:00", "03:00:00", null)] // equal bounds: Argo's else-branch accepts the whole day
    [InlineData("8:00:00", "9:00:00", "08:15:00", null)] // Go accepts a one-digit hour
    [InlineData("08:00", "09:00:00", "08:15:00", "time filter error (cannot parse \"08:00\" as hh:mm:ss)")]
    public void Time_filter(string start, string stop, string at, string? reason)
    {
        var time = new DateTimeOffset(new DateTime(2024, 3, 5) + TimeSpan.Parse(at, System.Globalization.CultureInfo.InvariantCulture), TimeSpan.Zero);
        Check(Run($$$"""{"time":{"start":"{{{start}}}","stop":"{{{stop}}}"}}""", e: Event(time: time)), reason);
    }

    [Fact]
    public void Time_filter_uses_timezone_and_event_time_not_now()
    {
        // 10:30 UTC is 11:30 in Berlin (CET, March 5).
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        Check(Run("""{"time":{"start":"11:00:00","stop":"12:00:00"}}""", zone: berlin), null);
        Check(Run("""{"time":{"start":"11:00:00","stop":"12:00:00"}}"""), "time filter: event time 10:30:00 (UTC) is outside [11:00:00, 12:00:00)");
        Check(Run("""{"time":{"start":"11:00:00","stop":"12:00:00","timezone":"Europe/Berlin"}}"""), null);
        Check(Run("""{"time":{"start":"11:00:00","stop":"12:00:00","timezone":"Asia/Tokyo"}}"""), "time filter: event time 19:30:00 (Asia/Tokyo) is outside [11:00:00, 12:00:00)");

        var noTime = Event() with { Time = null };
        var filter = Parse("""{"time":{"start":"11:00:00","stop":"12:00:00"}}""");
        DependencyFilter.Evaluate(filter, null, noTime, EventTime.AddHours(1), null).Passed.ShouldBeTrue();
    }

    [Theory]
    // and (default): every present kind must pass; the first failing kind names the reason (order expr, data, context, time).
    [InlineData(null, true, true, null)]
    [InlineData("and", true, false, "context filter: source \"webhook\" does not equal \"calendar\"")]
    [InlineData(null, false, false, "data filter body.c: 10 is not = any of [11]")]
    // or: one present kind passing is enough.
    [InlineData("or", false, true, null)]
    [InlineData("or", true, false, null)]
    [InlineData("or", false, false, "no filter passed: data filter body.c: 10 is not = any of [11]; context filter: source \"webhook\" does not equal \"calendar\"")]
    public void Filters_logical_operator(string? op, bool dataPasses, bool contextPasses, string? reason)
    {
        var value = dataPasses ? "10" : "11";
        var source = contextPasses ? "webhook" : "calendar";
        Check(Run($$$"""{"data":[{"path":"body.c","type":"number","value":["{{{value}}}"]}],"context":{"source":"{{{source}}}"}}""", op), reason);
    }

    [Fact]
    public void Under_or_an_error_in_any_kind_still_fails_like_argo()
    {
        Check(Run("""{"data":[{"path":"body.nope","type":"string","value":["x"]}],"context":{"source":"webhook"}}""", "or"),
            "data filter error (path 'body.nope' does not exist)");
    }

    [Fact]
    public void Under_or_absent_kinds_do_not_count_as_passing()
    {
        Check(Run("""{"dataLogicalOperator":"and"}""", "or"), "no filter passed: none is defined");
    }

    [Fact]
    public void Event_without_data_passes_data_and_expr_filters_but_bad_json_fails()
    {
        var filter = """{"data":[{"path":"body.a","type":"string","value":["x"]}]}""";
        Check(Run(filter, e: Event(data: string.Empty)), null);
        Check(Run(filter, e: Event(data: "not json")), "data filter error (event data not valid JSON)");
    }

    [Fact]
    public void Script_filters_run_lua()
    {
        Check(Run("""{"script":"return event.body.admin == true"}"""), null);
        Check(Run("""{"script":"return event.body.value > 100"}"""), "script filter returned false");
    }

    [Fact]
    public void Validate_reports_field_paths()
    {
        var filter = Parse("""
            {"time": {"start": "25:00:00", "stop": "nope", "timezone": "Mars/Base"},
             "dataLogicalOperator": "xor", "exprLogicalOperator": "OR", "script": "x",
             "data": [
               {"path": "body.a", "type": "string", "comparator": ">", "value": ["(unclosed"]},
               {"path": "", "type": "number", "comparator": "~", "value": ["ten"]},
               {"path": "body.b", "type": "bool", "value": ["yes"], "template": "{{ upper .Input }}"},
               {"path": "a|b", "type": "text", "value": []}
             ],
             "exprs": [
               {"expr": "a ==", "fields": [{"name": "", "path": "body.a"}]},
               {"expr": "a", "fields": []}
             ]}
            """);
        var errors = new List<string>();
        DependencyFilter.Validate(filter, "spec.dependencies[0].filters", (path, reason) => errors.Add($"{path}: {reason}"));
        const string at = "spec.dependencies[0].filters";
        errors.ShouldBe(
        [
            $"{at}.dataLogicalOperator: logical operator \"xor\" is not valid: use \"and\" or \"or\"",
            $"{at}.exprLogicalOperator: logical operator \"OR\" is not valid: use \"and\" or \"or\"",
            $"{at}.script: cannot compile Lua script: script:1: syntax error near <eof>",
            $"{at}.time.start: \"25:00:00\" is out of range (hh 0-23, mm and ss 0-59)",
            $"{at}.time.stop: cannot parse \"nope\" as hh:mm:ss",
            $"{at}.time.timezone: invalid timezone \"Mars/Base\"",
            $"{at}.data[0].comparator: comparator \">\" does not apply to strings: use = or !=",
            errors[7],
            $"{at}.data[1].path: path is required",
            $"{at}.data[1].comparator: comparator \"~\" is not valid: use one of >=, >, =, !=, <, <=",
            $"{at}.data[1].value[0]: \"ten\" is not a number",
            $"{at}.data[2].value[0]: \"yes\" is not a bool (true, false, 1, 0, t, f)",
            $"{at}.data[3].path: pipes ('|') are not supported",
            $"{at}.data[3].value: at least one value is required",
            $"{at}.data[3].type: type \"text\" is not valid: use string, number or bool",
            $"{at}.exprs[0].expr: cannot parse expression: unexpected end of expression",
            $"{at}.exprs[0].fields[0].name: name is required",
            $"{at}.exprs[1].fields: at least one field is required (Argo skips an expr without fields)",
        ]);
        errors[7].ShouldStartWith($"{at}.data[0].value[0]: invalid regular expression '(unclosed'");
    }

    [Fact]
    public void Validate_accepts_argo_doc_examples()
    {
        var filter = Parse("""
            {"time": {"start": "02:30:00", "stop": "04:30:00"},
             "context": {"type": "webhook", "source": "webhook"},
             "dataLogicalOperator": "or",
             "data": [
               {"path": "body.value", "type": "number", "comparator": ">", "value": ["50.0"]},
               {"path": "body.message", "type": "string", "value": ["hello", "hey"]},
               {"path": "header.X-Github-Event", "type": "string", "comparator": "!=", "value": ["ping"]}
             ],
             "exprs": [{"expr": "a == \"b\" || c != 10", "fields": [{"name": "a", "path": "a"}, {"name": "c", "path": "c"}]}]}
            """);
        var errors = new List<string>();
        DependencyFilter.Validate(filter, "f", (path, reason) => errors.Add($"{path}: {reason}"));
        errors.ShouldBeEmpty();
    }
}
