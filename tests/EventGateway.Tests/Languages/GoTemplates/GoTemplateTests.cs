using System.Text.Json;
using Shouldly;
using EventGateway.Languages.GoTemplates;

namespace EventGateway.Tests.Languages.GoTemplates;

public class GoTemplateTests
{
    // The event as Argo hands it to dataTemplate: {"Input": <event data>}.
    private const string Event = """
        {"Input": {
          "body": {"ref": "refs/heads/main", "repository": {"name": "gateway", "stars": 1000000},
                   "commits": [{"id": "a1"}, {"id": "b2"}], "count": 3, "ratio": 0.5, "draft": false,
                   "nothing": null, "labels": {"team": "core", "env": "prod"}, "empty": "", "tags": []},
          "header": {"X-Github-Event": ["push"]}
        }}
        """;

    public static TheoryData<string, string> Renders() => new()
    {
        // Text, trim markers, comments.
        { "plain text", "plain text" },
        { "a  {{- \"b\" -}}  c", "abc" },
        { "a {{/* comment */}} b", "a  b" },
        { "a {{- /* comment */ -}} b", "ab" },
        { "x\n  {{- .Input.body.count }}\n", "x3\n" },

        // Fields, variables, pipelines, literals.
        { "{{ .Input.body.ref | replace \"refs/heads/\" \"\" }}", "main" },
        { "{{ .Input.body.repository.name }}", "gateway" },
        { "{{ $.Input.body.count }}", "3" },
        { "{{ $x := .Input.body.repository }}{{ $x.name }}", "gateway" },
        { "{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", "2" },
        { "{{ (.Input.body.repository).name }}", "gateway" },
        { "{{ (index .Input.body.commits 1).id }}", "b2" },
        { "{{ `raw\\n` }}|{{ \"q\\t\" }}|{{ 42 }}|{{ -1.5 }}|{{ true }}|{{ 'a' }}", "raw\\n|q\t|42|-1.5|true|97" },
        { "{{ print nil }}", "<nil>" },

        // Go printing of JSON values: numbers are float64.
        { "{{ .Input.body.repository.stars }}", "1e+06" },
        { "{{ .Input.body.ratio }}", "0.5" },
        { "{{ .Input.body.labels }}", "map[env:prod team:core]" },
        { "{{ .Input.body.commits }}", "[map[id:a1] map[id:b2]]" },
        { "{{ .Input.body.draft }}", "false" },
        { "{{ .Input.header }}", "map[X-Github-Event:[push]]" },
        { "{{ .Input.body.missing }}", "<no value>" },
        { "{{ .Input.body.missing.deeper }}", "<no value>" },
        { "{{ .Input.body.nothing }}", "<no value>" },
        { "{{ printf \"%v\" .Input.body.nothing }}", "<nil>" },

        // Control structures.
        { "{{ if .Input.body.draft }}d{{ else if eq .Input.body.ref \"refs/heads/main\" }}main{{ else }}other{{ end }}", "main" },
        { "{{ if .Input.body.empty }}y{{ else }}n{{ end }}", "n" },
        { "{{ range .Input.body.commits }}{{ .id }},{{ end }}", "a1,b2," },
        { "{{ range $i, $c := .Input.body.commits }}{{ $i }}={{ $c.id }} {{ end }}", "0=a1 1=b2 " },
        { "{{ range $k, $v := .Input.body.labels }}{{ $k }}:{{ $v }};{{ end }}", "env:prod;team:core;" },
        { "{{ range .Input.body.tags }}x{{ else }}none{{ end }}", "none" },
        { "{{ range $c := .Input.body.commits }}{{ if eq $c.id \"a1\" }}{{ continue }}{{ end }}{{ $c.id }}{{ break }}{{ end }}", "b2" },
        { "{{ with .Input.body.repository }}{{ .name }}{{ end }}", "gateway" },
        { "{{ with .Input.body.missing }}x{{ else }}none{{ end }}", "none" },

        // Go builtins.
        { "{{ and 1 0 2 }}|{{ or 0 \"\" \"z\" }}|{{ not .Input.body.draft }}", "0|z|true" },
        { "{{ eq .Input.body.count 3.0 }}|{{ ne \"a\" \"b\" }}|{{ eq \"x\" \"y\" \"x\" }}", "true|true|true" },
        { "{{ lt 1 2 }}|{{ le 2 2 }}|{{ gt \"b\" \"a\" }}|{{ ge 1.5 2.5 }}", "true|true|true|false" },
        { "{{ eq .Input.body.missing \"x\" }}", "false" },
        { "{{ len .Input.body.commits }}|{{ len \"héllo\" }}|{{ len .Input.body.labels }}", "2|6|2" },
        { "{{ index .Input.header \"X-Github-Event\" 0 }}", "push" },
        { "{{ print \"a\" 1 2 \"b\" }}|{{ println 1 \"x\" }}", "a1 2b|1 x\n" },
        { "{{ printf \"%s-%d-%05.1f-%q-%t-%v\" \"s\" 7 3.14159 \"q\" true .Input.body.count }}", "s-7-003.1-\"q\"-true-3" },
        { "{{ printf \"%d\" }}|{{ printf \"%d\" \"x\" }}|{{ printf \"%d\" nil }}", "%!d(MISSING)|%!d(string=x)|%!d(<nil>)" },

        // sprig strings.
        { "{{ \"Hello\" | upper }} {{ \"Hello\" | lower }} {{ \"hello world\" | title }} [{{ \"  t  \" | trim }}]", "HELLO hello Hello World [t]" },
        { "{{ trimPrefix \"refs/\" .Input.body.ref }}|{{ .Input.body.ref | trimSuffix \"/main\" }}", "heads/main|refs/heads" },
        { "{{ contains \"heads\" .Input.body.ref }}|{{ hasPrefix \"refs\" .Input.body.ref }}|{{ hasSuffix \"x\" .Input.body.ref }}", "true|true|false" },
        { "{{ split \"/\" .Input.body.ref }}|{{ (split \"/\" .Input.body.ref)._2 }}", "map[_0:refs _1:heads _2:main]|main" },
        { "{{ splitList \"/\" .Input.body.ref | join \"-\" }}|{{ splitList \"/\" .Input.body.ref | last }}", "refs-heads-main|main" },
        { "{{ .Input.body.missing | default \"dflt\" }}|{{ .Input.body.empty | default \"e\" }}|{{ default \"d\" .Input.body.count }}", "dflt|e|3" },
        { "{{ empty .Input.body.tags }}|{{ empty .Input.body.missing }}|{{ empty .Input.body.count }}", "true|true|false" },
        { "{{ .Input.body.ref | quote }}|{{ squote \"a\" }}|{{ quote \"a\\\"b\" }}", "\"refs/heads/main\"|'a'|\"a\\\"b\"" },
        { "{{ toJson .Input.body.labels }}|{{ toJson .Input.body.repository }}|{{ toJson .Input.body.commits }}", "{\"env\":\"prod\",\"team\":\"core\"}|{\"name\":\"gateway\",\"stars\":1000000}|[{\"id\":\"a1\"},{\"id\":\"b2\"}]" },
        { "{{ toString .Input.body.count }}|{{ toString .Input.body.repository.stars }}", "3|1e+06" },
        { "{{ b64enc \"hello\" }}|{{ b64dec \"aGVsbG8=\" }}", "aGVsbG8=|hello" },
        { "{{ sha256sum \"abc\" }}", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "{{ substr 0 4 .Input.body.ref }}|{{ trunc 4 \"abcdefg\" }}|{{ trunc -2 \"abcdefg\" }}", "refs|abcd|fg" },
        { "{{ regexMatch \"^refs/heads/\" .Input.body.ref }}|{{ regexFind \"[a-z]+$\" .Input.body.ref }}", "true|main" },
        { "{{ regexReplaceAll \"refs/(\\\\w+)/(.*)\" .Input.body.ref \"${2}@${1}\" }}", "main@heads" },

        // sprig numbers: JSON float64 is cast to int64.
        { "{{ int .Input.body.repository.stars }}|{{ int64 \"12\" }}|{{ float64 \"1.5\" }}|{{ atoi \"42\" }}|{{ atoi \"x\" }}", "1000000|12|1.5|42|0" },
        { "{{ add 1 2 .Input.body.count }}|{{ sub 10 .Input.body.count }}|{{ mul 2 3 4 }}|{{ div 7 2 }}|{{ mod 7 2 }}", "6|7|24|3|1" },
        { "{{ add1 }}", "UNREACHABLE" },

        // sprig collections.
        { "{{ list 1 \"a\" .Input.body.count }}|{{ first (list 1 2) }}|{{ last (list 1 2) }}", "[1 a 3]|1|2" },
        { "{{ $d := dict \"k\" \"v\" \"n\" 1 }}{{ $d }}|{{ get $d \"k\" }}|[{{ get $d \"zz\" }}]|{{ keys $d }}", "map[k:v n:1]|v|[]|[k n]" },
        { "{{ keys .Input.body.labels | join \",\" }}", "env,team" },
    };

    public static TheoryData<string, string> Fails() => new()
    {
        { "{{ .Input.body.ref | nope }}", "template: param:1: function \"nope\" not defined" },
        { "{{ if .Input }}x", "template: param:1: unexpected EOF" },
        { "{{ end }}", "template: param:1: unexpected {{end}}" },
        { "line1\n{{ $y }}", "template: param:2: undefined variable \"$y\"" },
        { "{{ .Input.body.ref ", "template: param:1: unclosed action" },
        { "{{ break }}", "template: param:1: {{break}} outside {{range}}" },
        { "{{ }}", "template: param:1: missing value for command" },
        { "{{ index .Input.body.commits 5 }}", "template: param:1:3: executing \"param\" at <index .Input.body.co...>: error calling index: index out of range: 5" },
        { "{{ eq .Input.body.count 3 }}", "template: param:1:3: executing \"param\" at <eq .Input.body.count...>: error calling eq: incompatible types for comparison" },
        { "{{ .Input.body.count | upper }}", "template: param:1:23: executing \"param\" at <upper>: wrong type for value; expected string; got float64" },
        { "{{ upper .Input.body.missing }}", "template: param:1:9: executing \"param\" at <.Input.body.missing>: invalid value; expected string" },
        { "{{ .Input.body.ref.x }}", "template: param:1:3: executing \"param\" at <.Input.body.ref.x>: can't evaluate field x in type string" },
        { "{{ .Input.body.nothing.x }}", "template: param:1:3: executing \"param\" at <.Input.body.nothing....>: nil pointer evaluating interface {}.x" },
        { "{{ substr 0 .Input.body.count \"abc\" }}", "template: param:1:12: executing \"param\" at <.Input.body.count>: wrong type for value; expected int; got float64" },
        { "{{ upper }}", "template: param:1:3: executing \"param\" at <upper>: wrong number of args for upper: want 1 got 0" },
        { "{{ div 1 0 }}", "template: param:1:3: executing \"param\" at <div 1 0>: error calling div: runtime error: integer divide by zero" },
        { "{{ range .Input.body.ref }}{{ end }}", "template: param:1:9: executing \"param\" at <{{range .Input.body....>: range can't iterate over refs/heads/main" },
        { "a\n {{ len 3 }}", "template: param:2:4: executing \"param\" at <len 3>: error calling len: len of type int" },
    };

    [Theory]
    [MemberData(nameof(Renders))]
    public void Renders_like_go_text_template(string template, string expected)
    {
        if (expected == "UNREACHABLE")
        {
            // sprig functions outside the supported set fail at parse time, as an unknown function does in Go.
            Should.Throw<GoTemplateException>(() => GoTemplate.Parse(template)).Message.ShouldBe("template: param:1: function \"add1\" not defined");
            return;
        }

        GoTemplate.Parse(template).Render(JsonDocument.Parse(Event).RootElement).ShouldBe(expected);
    }

    [Theory]
    [MemberData(nameof(Fails))]
    public void Reports_errors_with_go_positions(string template, string expected)
    {
        var error = Should.Throw<GoTemplateException>(() => GoTemplate.Parse(template).Render(JsonDocument.Parse(Event).RootElement));
        error.Message.ShouldBe(expected);
    }

    [Theory]
    [InlineData("{{ .Input.body.message | upper }}", """{"Input": {"body": {"message": "hello"}}}""", "HELLO")]
    [InlineData("{{ b64dec .Input }}", """{"Input": "MTAw"}""", "100")]
    [InlineData("{{ .Input.type }}-{{ .Input.source }}", """{"Input": {"type": "webhook", "source": "webhook-es"}}""", "webhook-webhook-es")]
    [InlineData("{{ if gt (len .Input.body.items) 0 }}{{ (index .Input.body.items 0).name }}{{ end }}", """{"Input": {"body": {"items": [{"name": "n1"}]}}}""", "n1")]
    public void Renders_argo_events_documented_examples(string template, string json, string expected) =>
        GoTemplate.Parse(template).Render(JsonDocument.Parse(json).RootElement).ShouldBe(expected);

    [Fact]
    public void Accepts_plain_clr_dictionaries_and_caches_parses()
    {
        var data = new Dictionary<string, object?> { ["Input"] = new Dictionary<string, object?> { ["n"] = 5, ["list"] = new List<object?> { "a", "b" } } };
        GoTemplate.Parse("{{ .Input.n }} {{ eq .Input.n 5 }} {{ join \"+\" .Input.list }}").Render(data).ShouldBe("5 true a+b");
        GoTemplate.Parse("{{ . }}").ShouldBeSameAs(GoTemplate.Parse("{{ . }}"));
    }
}
