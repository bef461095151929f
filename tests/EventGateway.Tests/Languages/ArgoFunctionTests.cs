using Shouldly;
using static EventGateway.Tests.Languages.Env;

namespace EventGateway.Tests.Languages;

public class ArgoFunctionTests
{
    [Theory]
    [InlineData("asInt('42')", 42L)]
    [InlineData("asInt(' -7 ')", -7L)]
    [InlineData("asInt('3.0')", 3L)]
    [InlineData("asInt(5)", 5L)]
    [InlineData("asInt(4.0)", 4L)]
    public void AsInt_converts_integral_values(string expression, long expected) =>
        Eval(expression).ShouldBe(expected);

    [Theory]
    [InlineData("asInt('3.5')", "asInt: 3.5 is not an integer")]
    [InlineData("asInt(2.5)", "asInt: 2.5 is not an integer")]
    [InlineData("asInt('abc')", "asInt: cannot parse 'abc' as int")]
    [InlineData("asInt(true)", "asInt: cannot convert bool to int")]
    public void AsInt_rejects_non_integral_values(string expression, string reason) =>
        Fails(expression).Reason.ShouldBe(reason);

    [Theory]
    [InlineData("asFloat('1.5')", 1.5)]
    [InlineData("asFloat('2')", 2.0)]
    [InlineData("asFloat(3)", 3.0)]
    public void AsFloat_converts(string expression, double expected) =>
        Eval(expression).ShouldBe(expected);

    [Fact]
    public void AsInt_of_a_hyphenated_parameter_from_the_docs() =>
        Eval("asInt(inputs.parameters['my-int-param']) + 1", ("inputs.parameters.my-int-param", "41")).ShouldBe(42L);

    [Fact]
    public void ToJson_is_compact_and_go_escaped()
    {
        Eval("toJson([1, 2])").ShouldBe("[1,2]");
        Eval("toJson({b: 'x<y', a: 1.5})").ShouldBe("{\"a\":1.5,\"b\":\"x\\u003cy\"}");
        Eval("toJson('q\"')").ShouldBe("\"q\\\"\"");
    }

    private const string Json = "{\"some\": {\"path\": 7, \"list\": [{\"n\": \"a\"}, {\"n\": \"b\"}], \"my-key\": true}}";

    [Theory]
    [InlineData("$.some.path", 7L)]
    [InlineData("$.some.list[1].n", "b")]
    [InlineData("$.some.list[-1].n", "b")]
    [InlineData("$['some']['my-key']", true)]
    [InlineData("$.some[\"path\"]", 7L)]
    public void Jsonpath_single_values(string path, object expected) =>
        Eval($"jsonpath(json, `{path}`)", ("json", Json)).ShouldBe(expected);

    [Fact]
    public void Jsonpath_wildcards_return_lists()
    {
        Eval("jsonpath(json, '$.some.list[*].n')", ("json", Json)).ShouldBe(new object?[] { "a", "b" });
        Eval("jsonpath(json, '$.some.list[0:1]')", ("json", Json))
            .ShouldBeAssignableTo<IReadOnlyList<object?>>()!.Count.ShouldBe(1);
        Eval("len(jsonpath(json, '$.some.*'))", ("json", Json)).ShouldBe(3L);
    }

    [Fact]
    public void Jsonpath_root_returns_the_document() =>
        Eval("jsonpath('[1,2]', '$')").ShouldBe(new object?[] { 1L, 2L });

    [Theory]
    [InlineData("jsonpath(json, '$.missing')", "jsonpath '$.missing': key 'missing' not found")]
    [InlineData("jsonpath(json, 'some')", "jsonpath 'some' must start with '$'")]
    [InlineData("jsonpath(json, '$.some.path[0]')", "jsonpath '$.some.path[0]': cannot index int with [0]")]
    [InlineData("jsonpath('{bad', '$')", "invalid JSON")]
    public void Jsonpath_errors(string expression, string reason) =>
        Fails(expression, ("json", Json)).Reason.ShouldStartWith(reason);

    [Fact]
    public void Jsonpath_from_a_when_style_comparison() =>
        Eval("1 < jsonpath(p, '$.key1')", ("p", "{\"key1\": 100}")).ShouldBe(true);
}
