using Shouldly;
using static EventGateway.Tests.Languages.Env;

namespace EventGateway.Tests.Languages.Json;

/// <summary>
/// jsonpath() filters, as Argo's expr environment (evilmonkeyinc/jsonpath) evaluates them; the paths are those of
/// Argo's examples/expression-destructure-json-complex.yaml.
/// </summary>
public class JsonPathFilterTests
{
    private const string Config = """{"employees": [{"name": "Baris", "age":43},{"name": "Mo", "age": 42}, {"name": "Jai", "age" :44}], "boss": "Mo"}""";

    private static string Query(string path) => Render($"jsonpath(config, `{path}`)", ("config", Config));

    [Theory]
    [InlineData("$.employees[?(@.name==\"Baris\")].age", "[43]")]
    [InlineData("$.employees[?(@.age>42 && @.age<44)].age", "[43]")]
    [InlineData("$.employees[?(@.age < 43 || @.name == 'Jai')].name", "[\"Mo\",\"Jai\"]")]
    [InlineData("$.employees[?(!(@.age >= 43))].name", "[\"Mo\"]")]
    [InlineData("$.employees[?(@.name != 'Mo')].age", "[43,44]")]
    [InlineData("$.employees[?(@.name =~ /^[BJ]/)].name", "[\"Baris\",\"Jai\"]")]
    [InlineData("$.employees[?(@.name == $.boss)].age", "[42]")]
    [InlineData("$.employees[?(@.salary)].name", "[]")]
    [InlineData("$.employees[?(@.salary > 1)].name", "[]")]
    [InlineData("$.employees[?(@.name)].age", "[43,42,44]")]
    [InlineData("$.employees[0:1]", "[{\"age\":43,\"name\":\"Baris\"}]")]
    [InlineData("$.employees[*].name", "[\"Baris\",\"Mo\",\"Jai\"]")]
    public void Filters_select_the_matching_elements(string path, string expected) =>
        Query(path).ShouldBe(expected);

    [Fact]
    public void A_filter_over_an_object_tests_its_values() =>
        Render("jsonpath(doc, '$.m[?(@.on == true)].id')", ("doc", """{"m": {"b": {"id": 2, "on": true}, "a": {"id": 1, "on": false}}}""")).ShouldBe("[2]");

    [Theory]
    [InlineData("$.employees[?(@.age >)]", "missing operand")]
    [InlineData("$.employees[?(@.age == nope)]", "unknown value 'nope'")]
    [InlineData("$.employees[?(@.name =~ 'B')]", "=~ expects a /regular expression/")]
    [InlineData("$.boss[?(@ == 1)]", "cannot filter string")]
    public void A_bad_filter_says_what_is_wrong(string path, string reason) =>
        Fails($"jsonpath(config, `{path}`)", ("config", Config)).Reason.ShouldContain(reason);
}
