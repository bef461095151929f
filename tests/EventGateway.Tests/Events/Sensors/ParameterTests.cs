using System.Text;
using System.Text.Json;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using Shouldly;
using EventGateway.Events.Log;
using EventGateway.Events.Sensors.Parameters;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Tests.Events.Sensors;

public class ParameterTests
{
    private const string PushData = """
        {"header": {"X-Github-Event": ["push"]},
         "body": {"ref": "refs/heads/feature/x", "size": 3, "ratio": 1.50, "big": 1e21, "forced": false, "head": null,
                  "repository": {"clone_url": "https://github.com/acme/app.git", "name": "app", "owner": {"login": "acme"}},
                  "labels": ["a", "b"], "title": "<fix> & \"quote\""}}
        """;

    private static readonly DateTimeOffset Time = new(2024, 3, 5, 10, 30, 15, 123, TimeSpan.FromHours(2));

    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    // Readable expectations: quotes inside strings print as \" rather than \u0022.
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static CloudEvent Push(string data = PushData, string contentType = "application/json") =>
        new("delivery-1", "github", "github", "push", Time, Encoding.UTF8.GetBytes(data), contentType);

    private static Dictionary<string, CloudEvent> Events(CloudEvent? e = null) => new() { ["github"] = e ?? Push() };

    private static TriggerParameterSource Src(string json) => JsonSerializer.Deserialize<TriggerParameterSource>(json, Web)!;

    private static List<TriggerParameter> Params(string json) => JsonSerializer.Deserialize<List<TriggerParameter>>(json, Web)!;

    private const string ContextJson =
        """{"id":"delivery-1","source":"github","specversion":"1.0","type":"github","datacontenttype":"application/json","subject":"push","time":"2024-03-05T08:30:15Z"}""";

    [Theory]
    // dataKey: strings lose their quotes, numbers print as gjson does, blocks stay raw JSON.
    [InlineData("""{"dependencyName":"github","dataKey":"body.repository.clone_url"}""", "https://github.com/acme/app.git")]
    [InlineData("""{"dependencyName":"github","dataKey":"body.size"}""", "3")]
    [InlineData("""{"dependencyName":"github","dataKey":"body.ratio"}""", "1.5")]
    [InlineData("""{"dependencyName":"github","dataKey":"body.big"}""", "1000000000000000000000")]
    [InlineData("""{"dependencyName":"github","dataKey":"body.forced"}""", "false")]
    [InlineData("""{"dependencyName":"github","dataKey":"body.head"}""", "null")]
    [InlineData("""{"dependencyName":"github","dataKey":"body.labels"}""", """["a", "b"]""")]
    [InlineData("""{"dependencyName":"github","dataKey":"body.repository.owner"}""", """{"login": "acme"}""")]
    [InlineData("""{"dependencyName":"github","dataKey":"body.labels.1"}""", "b")]
    // Templates see the data (or the context) as .Input, with sprig.
    [InlineData("""{"dependencyName":"github","dataTemplate":"{{ .Input.body.ref | replace \"refs/heads/\" \"\" }}"}""", "feature/x")]
    [InlineData("""{"dependencyName":"github","dataTemplate":"{{ .Input.body.size }}"}""", "3")]
    [InlineData("""{"dependencyName":"github","contextTemplate":"{{ .Input.subject }}-{{ .Input.id | upper }}"}""", "push-DELIVERY-1")]
    [InlineData("""{"dependencyName":"github","contextTemplate":"{{ .Input.time }}"}""", "2024-03-05T08:30:15Z")]
    // Template before key; a failed template falls back to the key, then to the value.
    [InlineData("""{"dependencyName":"github","dataTemplate":"{{ .Input.body.name }}","dataKey":"body.ref"}""", "refs/heads/feature/x")]
    [InlineData("""{"dependencyName":"github","dataTemplate":"{{ .Input.body.ref }}","dataKey":"body.size"}""", "refs/heads/feature/x")]
    [InlineData("""{"dependencyName":"github","dataTemplate":"{{ .Input.nope }}","value":"dflt"}""", "dflt")]
    [InlineData("""{"dependencyName":"github","dataTemplate":"{{ if }}","value":"dflt"}""", "dflt")]
    [InlineData("""{"dependencyName":"github","dataTemplate":"{{ \"\" }}","dataKey":"body.repository.name"}""", "app")]
    [InlineData("""{"dependencyName":"github","dataKey":"body.missing","value":"dflt"}""", "dflt")]
    [InlineData("""{"dependencyName":"github","dataKey":"body.missing","value":""}""", "")]
    // Context keys use Argo's lower-case attribute names.
    [InlineData("""{"dependencyName":"github","contextKey":"subject"}""", "push")]
    [InlineData("""{"dependencyName":"github","contextKey":"source"}""", "github")]
    [InlineData("""{"dependencyName":"github","contextKey":"specversion"}""", "1.0")]
    [InlineData("""{"dependencyName":"github","contextKey":"Subject","value":"dflt"}""", "dflt")]
    // A data selector wins over a context selector.
    [InlineData("""{"dependencyName":"github","contextKey":"subject","dataKey":"body.repository.name"}""", "app")]
    [InlineData("""{"dependencyName":"github","contextKey":"subject","dataKey":"body.nope","value":"dflt"}""", "dflt")]
    // No selector: the value, else the whole context.
    [InlineData("""{"dependencyName":"github","value":"literal"}""", "literal")]
    // A dependency that did not fire: the value, else nothing.
    [InlineData("""{"dependencyName":"gitlab","dataKey":"body.ref","value":"dflt"}""", "dflt")]
    [InlineData("""{"dependencyName":"gitlab","dataKey":"body.ref"}""", null)]
    public void Resolves_values_with_argo_precedence(string src, string? expected)
    {
        ParameterResolver.ResolveValue(Src(src), Events()).ShouldBe(expected);
    }

    [Theory]
    [InlineData("""{"dependencyName":"github"}""")]
    [InlineData("""{"dependencyName":"github","contextKey":"","dataKey":""}""")]
    public void No_selector_and_no_value_gives_the_whole_event_with_base64_data(string src)
    {
        ParameterResolver.ResolveValue(Src(src), Events())
            .ShouldBe($$"""{"context":{{ContextJson}},"data":"{{Convert.ToBase64String(Encoding.UTF8.GetBytes(PushData))}}"}""");
    }

    [Fact]
    public void Whole_event_escapes_like_go_and_drops_sub_second_time()
    {
        var e = new CloudEvent("a<b>&c", "src", "t", "x\u2028y", Time, ReadOnlyMemory<byte>.Empty);
        ParameterResolver.ResolveValue(Src("""{"dependencyName":"dep"}"""), new Dictionary<string, CloudEvent> { ["dep"] = e })
            .ShouldBe("""{"context":{"id":"a\u003cb\u003e\u0026c","source":"src","specversion":"1.0","type":"t","datacontenttype":"application/json","subject":"x\u2028y","time":"2024-03-05T08:30:15Z"},"data":null}""");
    }

    [Fact]
    public void Resolve_reports_gjson_types_for_raw_use()
    {
        ParameterResolver.Resolve(Src("""{"dependencyName":"github","dataKey":"body.repository"}"""), Events())!.Type.ShouldBe("JSON");
        ParameterResolver.Resolve(Src("""{"dependencyName":"github","dataKey":"body.size"}"""), Events())!.Type.ShouldBe("Number");
        ParameterResolver.Resolve(Src("""{"dependencyName":"github","dataKey":"body.ref"}"""), Events())!.Type.ShouldBe("String");
        ParameterResolver.Resolve(Src("""{"dependencyName":"github","dataTemplate":"{{ .Input.body.size }}"}"""), Events())!.Type.ShouldBe("String");
    }

    [Theory]
    [InlineData("""{"dependencyName":"github","dataKey":"body.missing"}""",
        "unable to resolve the value from dependency \"github\": dataKey \"body.missing\" does not exist in the event data and no default value is set")]
    [InlineData("""{"dependencyName":"github","contextKey":"nope"}""",
        "unable to resolve the value from dependency \"github\": contextKey \"nope\" does not exist in the event context and no default value is set")]
    [InlineData("""{"dependencyName":"github","dataTemplate":"{{ .Input.x }}","dataKey":"body.y"}""",
        "unable to resolve the value from dependency \"github\": template \"{{ .Input.x }}\" evaluated to empty string or no value; dataKey \"body.y\" does not exist in the event data and no default value is set")]
    public void Unresolvable_values_throw_with_the_reason(string src, string message)
    {
        var e = Should.Throw<ParameterException>(() => ParameterResolver.ResolveValue(Src(src), Events()));
        e.Message.ShouldBe(message);
        e.Index.ShouldBeNull();
    }

    [Theory]
    [InlineData("not json", "application/json", "event data is not valid JSON")]
    [InlineData("{}", "text/plain", "unsupported event content type: text/plain")]
    public void Undecodable_data_uses_the_default_or_fails(string data, string contentType, string reason)
    {
        var events = Events(Push(data, contentType));
        ParameterResolver.ResolveValue(Src("""{"dependencyName":"github","dataKey":"a","value":"d"}"""), events).ShouldBe("d");
        Should.Throw<ParameterException>(() => ParameterResolver.ResolveValue(Src("""{"dependencyName":"github","dataKey":"a"}"""), events))
            .Message.ShouldBe($"unable to resolve the value from dependency \"github\": {reason}");
    }

    [Fact]
    public void Yaml_data_is_read_as_json()
    {
        var events = Events(Push("body:\n  ref: main\n  n: 2\n", "application/yaml"));
        ParameterResolver.ResolveValue(Src("""{"dependencyName":"github","dataKey":"body.ref"}"""), events).ShouldBe("main");
        ParameterResolver.ResolveValue(Src("""{"dependencyName":"github","dataKey":"body"}"""), events).ShouldBe("""{"ref":"main","n":2}""");
    }

    [Fact]
    public void Seed_sensor_fills_the_workflow_arguments()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Events", "s3-github-sensor.yaml");
        var sensor = JsonNode.Parse(YamlToJson.Convert(File.ReadAllText(path))[0].Json)!;
        var k8s = sensor["spec"]!["triggers"]![0]!["template"]!["k8s"]!;
        var resource = k8s["source"]!["resource"]!;
        var parameters = k8s["parameters"]!.Deserialize<List<TriggerParameter>>(Web)!;
        var before = resource.ToJsonString();

        var result = ParameterResolver.Apply(resource, parameters, Events());

        result["spec"]!["arguments"]!["parameters"]!.ToJsonString()
            .ShouldBe("""[{"name":"repo","value":"https://github.com/acme/app.git"},{"name":"branch","value":"refs/heads/feature/x"}]""");
        result["kind"]!.GetValue<string>().ShouldBe("Workflow");
        result["spec"]!["workflowTemplateRef"]!["name"]!.GetValue<string>().ShouldBe("ci-pipeline");
        resource.ToJsonString().ShouldBe(before); // the input is not modified
    }

    private const string Workflow = """{"spec":{"arguments":{"parameters":[{"name":"repo","value":"base"},{"name":"n","value":7}]},"tags":"x"}}""";

    [Theory]
    // Overwrite (default) writes strings, even for numbers and blocks, unless useRawData.
    [InlineData("""[{"src":{"dependencyName":"github","dataTemplate":"{{ .Input.body.ref | replace \"refs/heads/\" \"\" }}"},"dest":"spec.arguments.parameters.0.value"}]""",
        """{"spec":{"arguments":{"parameters":[{"name":"repo","value":"feature/x"},{"name":"n","value":7}]},"tags":"x"}}""")]
    [InlineData("""[{"src":{"dependencyName":"github","dataKey":"body.size"},"dest":"spec.arguments.parameters.1.value","operation":"overwrite"}]""",
        """{"spec":{"arguments":{"parameters":[{"name":"repo","value":"base"},{"name":"n","value":"3"}]},"tags":"x"}}""")]
    [InlineData("""[{"src":{"dependencyName":"github","dataKey":"body.repository.owner"},"dest":"spec.owner"}]""",
        """{"spec":{"arguments":{"parameters":[{"name":"repo","value":"base"},{"name":"n","value":7}]},"tags":"x","owner":"{\"login\": \"acme\"}"}}""")]
    // useRawData: blocks, numbers, booleans and null are inserted as JSON; strings stay strings.
    [InlineData("""[{"src":{"dependencyName":"github","dataKey":"body.repository.owner","useRawData":true},"dest":"spec.owner"}]""",
        """{"spec":{"arguments":{"parameters":[{"name":"repo","value":"base"},{"name":"n","value":7}]},"tags":"x","owner":{"login":"acme"}}}""")]
    [InlineData("""[{"src":{"dependencyName":"github","dataKey":"body.size","useRawData":true},"dest":"spec.n"},{"src":{"dependencyName":"github","dataKey":"body.forced","useRawData":true},"dest":"spec.f"},{"src":{"dependencyName":"github","dataKey":"body.head","useRawData":true},"dest":"spec.h"},{"src":{"dependencyName":"github","dataKey":"body.ref","useRawData":true},"dest":"spec.r"}]""",
        """{"spec":{"arguments":{"parameters":[{"name":"repo","value":"base"},{"name":"n","value":7}]},"tags":"x","n":3,"f":false,"h":null,"r":"refs/heads/feature/x"}}""")]
    // A template's output is a string even with useRawData.
    [InlineData("""[{"src":{"dependencyName":"github","dataTemplate":"{{ .Input.body.size }}","useRawData":true},"dest":"spec.n"}]""",
        """{"spec":{"arguments":{"parameters":[{"name":"repo","value":"base"},{"name":"n","value":7}]},"tags":"x","n":"3"}}""")]
    // Append / prepend concatenate with the existing value's string form; missing dest behaves as overwrite.
    [InlineData("""[{"src":{"dependencyName":"github","dataKey":"body.repository.name"},"dest":"spec.tags","operation":"append"}]""",
        """{"spec":{"arguments":{"parameters":[{"name":"repo","value":"base"},{"name":"n","value":7}]},"tags":"xapp"}}""")]
    [InlineData("""[{"src":{"dependencyName":"github","dataKey":"body.repository.name"},"dest":"spec.tags","operation":"prepend"}]""",
        """{"spec":{"arguments":{"parameters":[{"name":"repo","value":"base"},{"name":"n","value":7}]},"tags":"appx"}}""")]
    [InlineData("""[{"src":{"dependencyName":"github","dataKey":"body.size","useRawData":true},"dest":"spec.arguments.parameters.1.value","operation":"append"}]""",
        """{"spec":{"arguments":{"parameters":[{"name":"repo","value":"base"},{"name":"n","value":"73"}]},"tags":"x"}}""")]
    [InlineData("""[{"src":{"dependencyName":"github","dataKey":"body.repository.name"},"dest":"spec.fresh","operation":"append"}]""",
        """{"spec":{"arguments":{"parameters":[{"name":"repo","value":"base"},{"name":"n","value":7}]},"tags":"x","fresh":"app"}}""")]
    // -1 appends to an array; later parameters see earlier writes.
    [InlineData("""[{"src":{"dependencyName":"github","value":"{\"name\":\"extra\"}"},"dest":"spec.arguments.parameters.-1"},{"src":{"dependencyName":"github","dataKey":"body.repository.owner","useRawData":true},"dest":"spec.arguments.parameters.-1"}]""",
        """{"spec":{"arguments":{"parameters":[{"name":"repo","value":"base"},{"name":"n","value":7},"{\"name\":\"extra\"}",{"login":"acme"}]},"tags":"x"}}""")]
    // Missing intermediates are created: numeric keys make arrays padded with null, others objects; scalars are replaced.
    [InlineData("""[{"src":{"dependencyName":"github","contextKey":"subject"},"dest":"metadata.labels.event"},{"src":{"dependencyName":"github","value":"v"},"dest":"spec.list.2.k"},{"src":{"dependencyName":"github","value":"w"},"dest":"spec.tags.sub"}]""",
        """{"spec":{"arguments":{"parameters":[{"name":"repo","value":"base"},{"name":"n","value":7}]},"tags":{"sub":"w"},"list":[null,null,{"k":"v"}]},"metadata":{"labels":{"event":"push"}}}""")]
    // Past the end of an array pads with null; escaped dots and ':' force object keys.
    [InlineData("""[{"src":{"dependencyName":"github","value":"z"},"dest":"spec.arguments.parameters.3"},{"src":{"dependencyName":"github","value":"a"},"dest":"metadata.annotations.example\\.com/x"},{"src":{"dependencyName":"github","value":"b"},"dest":"spec.m.:0"}]""",
        """{"spec":{"arguments":{"parameters":[{"name":"repo","value":"base"},{"name":"n","value":7},null,"z"]},"tags":"x","m":{"0":"b"}},"metadata":{"annotations":{"example.com/x":"a"}}}""")]
    // A dependency that did not fire and has no default leaves the target alone.
    [InlineData("""[{"src":{"dependencyName":"gitlab","dataKey":"body.ref"},"dest":"spec.tags"}]""", Workflow)]
    public void Applies_parameters_with_sjson_semantics(string parameters, string expected)
    {
        var target = JsonNode.Parse(Workflow)!;
        var result = ParameterResolver.Apply(target, Params(parameters), Events());
        result.ToJsonString(Relaxed).ShouldBe(expected);
        target.ToJsonString().ShouldBe(Workflow);
    }

    [Theory]
    [InlineData("""[{"src":{"dependencyName":"github","value":"a"},"dest":"spec.tags"},{"src":{"dependencyName":"github","value":"b"},"dest":"spec.arguments.parameters.-2"}]""",
        "parameters[1]: dest \"spec.arguments.parameters.-2\": cannot set array element for non-numeric key '-2'")]
    [InlineData("""[{"src":{"dependencyName":"github","value":"a"},"dest":""}]""", "parameters[0]: dest \"\": path cannot be empty")]
    [InlineData("""[{"src":{"dependencyName":"github","value":"a"},"dest":"spec.*.x"}]""",
        "parameters[0]: dest \"spec.*.x\": '*' (gjson query/wildcard syntax) is not supported in a destination path")]
    [InlineData("""[{"src":{"dependencyName":"github","value":"a"},"dest":"spec.tags","operation":"merge"}]""",
        "parameters[0]: unsupported operation \"merge\" (want overwrite, append or prepend)")]
    [InlineData("""[{"dest":"spec.tags"}]""", "parameters[0]: src is required")]
    [InlineData("""[{"src":{"dependencyName":"github","value":"a"},"dest":"spec.list.20000"}]""",
        "parameters[0]: dest \"spec.list.20000\": array index 20000 is beyond the limit of 10000")]
    [InlineData("""[{"src":{"dependencyName":"github","value":"a"},"dest":"a"},{"src":{"dependencyName":"github","dataKey":"body.nope"},"dest":"spec.tags"}]""",
        "parameters[1]: unable to resolve the value from dependency \"github\": dataKey \"body.nope\" does not exist in the event data and no default value is set")]
    public void Bad_parameters_fail_with_index_and_reason(string parameters, string message)
    {
        var target = JsonNode.Parse(Workflow)!;
        var e = Should.Throw<ParameterException>(() => ParameterResolver.Apply(target, Params(parameters), Events()));
        e.Message.ShouldBe(message);
        e.Index.ShouldNotBeNull();
        target.ToJsonString().ShouldBe(Workflow);
    }
}
