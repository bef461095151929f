using System.Text.Json;
using Shouldly;
using EventGateway.Languages.Json;

namespace EventGateway.Tests.Languages.Json;

public class GJsonTests
{
    // gjson README's sample document.
    private const string Doc = """
        {
          "name": {"first": "Tom", "last": "Anderson"},
          "age": 37,
          "children": ["Sara", "Alex", "Jack"],
          "fav.movie": "Deer Hunter",
          "friends": [
            {"first": "Dale", "last": "Murphy", "age": 44, "nets": ["ig", "fb", "tw"]},
            {"first": "Roger", "last": "Craig", "age": 68, "nets": ["fb", "tw"]},
            {"first": "Jane", "last": "Murphy", "age": 47, "nets": ["ig", "tw"]}
          ],
          "@timestamp": "2024-01-01",
          "flag": true,
          "nothing": null
        }
        """;

    [Theory]
    [InlineData("name.last", "\"Anderson\"")]
    [InlineData("age", "37")]
    [InlineData("children", "[\"Sara\", \"Alex\", \"Jack\"]")]
    [InlineData("children.#", "3")]
    [InlineData("children.1", "\"Alex\"")]
    [InlineData("child*.2", "\"Jack\"")]
    [InlineData("c?ildren.0", "\"Sara\"")]
    [InlineData("fav\\.movie", "\"Deer Hunter\"")]
    [InlineData("friends.#.first", "[\"Dale\",\"Roger\",\"Jane\"]")]
    [InlineData("friends.1.last", "\"Craig\"")]
    [InlineData("friends.#.nets.#", "[3,2,2]")]
    [InlineData("friends.#", "3")]
    [InlineData("@timestamp", "\"2024-01-01\"")]
    [InlineData("nothing", "null")]
    [InlineData("na*.l*", "\"Anderson\"")]
    [InlineData("na*", "{\"first\": \"Tom\", \"last\": \"Anderson\"}")]
    public void Get_finds_values(string path, string expectedJson)
    {
        using var doc = JsonDocument.Parse(Doc);
        var found = GJson.Get(doc.RootElement, path);
        found.ShouldNotBeNull();
        Normalize(found.Value.GetRawText()).ShouldBe(Normalize(expectedJson));
    }

    [Theory]
    [InlineData("name.middle")]
    [InlineData("children.3")]
    [InlineData("children.x")]
    [InlineData("age.x")]
    [InlineData("fav.movie")]
    [InlineData("")]
    [InlineData("friends.#(last==\"Murphy\").first")]
    [InlineData("name|@reverse")]
    public void Get_reports_absent(string path)
    {
        using var doc = JsonDocument.Parse(Doc);
        GJson.Get(doc.RootElement, path).ShouldBeNull();
    }

    [Fact]
    public void Escaped_wildcard_is_literal()
    {
        using var doc = JsonDocument.Parse("""{"a*": 1, "ab": 2}""");
        GJson.Get(doc.RootElement, "a\\*")!.Value.GetInt32().ShouldBe(1);
        GJson.Get(doc.RootElement, "a*")!.Value.GetInt32().ShouldBe(1);
        GJson.Get(doc.RootElement, "a?")!.Value.GetInt32().ShouldBe(1);
        GJson.Get(doc.RootElement, "?b")!.Value.GetInt32().ShouldBe(2);
    }

    [Fact]
    public void First_duplicate_key_wins_like_gjson()
    {
        using var doc = JsonDocument.Parse("""{"k": 1, "k": 2}""");
        GJson.Get(doc.RootElement, "k")!.Value.GetInt32().ShouldBe(1);
    }

    [Fact]
    public void Later_matching_key_is_tried_when_the_rest_of_the_path_misses()
    {
        using var doc = JsonDocument.Parse("""{"a1": {"x": 1}, "a2": {"y": 2}, "k": {"p": 3}, "k": {"q": 4}}""");
        GJson.Get(doc.RootElement, "a*.y")!.Value.GetInt32().ShouldBe(2);
        GJson.Get(doc.RootElement, "k.q")!.Value.GetInt32().ShouldBe(4);
    }

    [Theory]
    [InlineData("friends.#(age>45)", "queries ('#(...)') are not supported")]
    [InlineData("a|b", "pipes ('|') are not supported")]
    [InlineData("[a,b]", "multipaths ('[...]', '{...}') are not supported")]
    [InlineData("..a", "JSON Lines paths ('..') are not supported")]
    public void IsSupported_names_the_unsupported_syntax(string path, string reason)
    {
        GJson.IsSupported(path, out var why).ShouldBeFalse();
        why.ShouldBe(reason);
        GJson.IsSupported("a\\|b.c", out _).ShouldBeTrue();
    }

    [Theory]
    [InlineData("\"abc\"", "abc", 0, false)]
    [InlineData("\"12.5\"", "12.5", 12.5, false)]
    [InlineData("\"TRUE\"", "TRUE", 0, true)]
    [InlineData("\"t\"", "t", 0, true)]
    [InlineData("\"yes\"", "yes", 0, false)]
    [InlineData("1.50", "1.50", 1.5, true)]
    [InlineData("0", "0", 0, false)]
    [InlineData("true", "true", 1, true)]
    [InlineData("false", "false", 0, false)]
    [InlineData("null", "", 0, false)]
    [InlineData("{\"a\":1}", "{\"a\":1}", 0, false)]
    public void Conversions_follow_gjson_result_methods(string json, string asString, double asFloat, bool asBool)
    {
        using var doc = JsonDocument.Parse(json);
        GJson.ToGoString(doc.RootElement).ShouldBe(asString);
        GJson.ToFloat(doc.RootElement).ShouldBe(asFloat);
        GJson.ToBool(doc.RootElement).ShouldBe(asBool);
    }

    private static string Normalize(string json) => JsonSerializer.Serialize(JsonDocument.Parse(json).RootElement);
}
