using Shouldly;
using EventGateway.Languages.Jq;
using EventGateway.Languages.Json;

namespace EventGateway.Tests.Languages.Json;

/// <summary>
/// The one JSON string escaper (<see cref="JsonText.AppendString"/>) in its two dialects, pinned through its
/// callers: jq's output and expr's/sprig's toJson, which is Go's encoding/json.
/// </summary>
public class JsonTextTests
{
    // Every character the dialects treat differently, between ones they agree on.
    private const string Tricky = "\"\\\b\f\n\r\t\u0001\u007f<>&\u2028\u2029é";

    [Fact]
    public void Jq_escapes_only_quotes_backslashes_and_control_characters_using_the_short_forms() =>
        JqValues.ToJson(Tricky).ShouldBe("\"\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u007f<>&\u2028\u2029é\"");

    [Fact]
    public void Go_also_escapes_html_characters_and_line_separators_and_writes_b_and_f_as_unicode_escapes() =>
        JsonCodec.Serialize(Tricky).ShouldBe("\"\\\"\\\\\\u0008\\u000c\\n\\r\\t\\u0001\u007f\\u003c\\u003e\\u0026\\u2028\\u2029é\"");

    [Fact]
    public void Object_keys_are_escaped_in_the_same_dialect_as_values()
    {
        JqValues.ToJson(JqValues.FromNode(System.Text.Json.Nodes.JsonNode.Parse("{\"<\\b\": 1}"))).ShouldBe("{\"<\\b\":1}");
        JsonCodec.Serialize(new Dictionary<string, object?> { ["<\b"] = 1L }).ShouldBe("{\"\\u003c\\u0008\":1}");
    }
}
