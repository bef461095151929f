using Shouldly;
using EventGateway.Languages.Expr;

namespace EventGateway.Tests.Languages;

public class StringifyTests
{
    [Theory]
    [InlineData(3.5, "3.5")]
    [InlineData(2.0, "2")]
    [InlineData(-0.25, "-0.25")]
    [InlineData(0.1, "0.1")]
    [InlineData(1e20, "100000000000000000000")]
    [InlineData(1e21, "1e+21")]
    [InlineData(1.5e-7, "1.5e-7")]
    [InlineData(0.000001, "0.000001")]
    [InlineData(123456789.125, "123456789.125")]
    [InlineData(0.0, "0")]
    [InlineData(1.0 / 3, "0.3333333333333333")]
    public void Floats_use_go_json_shortest_form(double value, string expected) =>
        ArgoExpression.Stringify(value).ShouldBe(expected);

    [Fact]
    public void Scalars()
    {
        ArgoExpression.Stringify("as-is {{x}}").ShouldBe("as-is {{x}}");
        ArgoExpression.Stringify(42L).ShouldBe("42");
        ArgoExpression.Stringify(-7).ShouldBe("-7");
        ArgoExpression.Stringify(true).ShouldBe("true");
        ArgoExpression.Stringify(false).ShouldBe("false");
        ArgoExpression.Stringify(null).ShouldBe(string.Empty);
    }

    [Fact]
    public void Non_finite_floats_use_go_print_form()
    {
        ArgoExpression.Stringify(double.PositiveInfinity).ShouldBe("+Inf");
        ArgoExpression.Stringify(double.NaN).ShouldBe("NaN");
    }

    [Fact]
    public void Lists_and_maps_are_compact_json_with_sorted_keys()
    {
        ArgoExpression.Stringify(new List<object?> { 1L, "a", null, true, 2.5 }).ShouldBe("[1,\"a\",null,true,2.5]");
        var map = new Dictionary<string, object?> { ["z"] = 1L, ["a"] = new List<object?> { 2.0 } };
        ArgoExpression.Stringify(map).ShouldBe("{\"a\":[2],\"z\":1}");
    }

    [Fact]
    public void Json_strings_escape_like_go()
    {
        ArgoExpression.Stringify(new List<object?> { "a&b", "<>", "q\"\\", "\n\t", "\u0001", "é" })
            .ShouldBe("[\"a\\u0026b\",\"\\u003c\\u003e\",\"q\\\"\\\\\",\"\\n\\t\",\"\\u0001\",\"é\"]");
    }

    [Fact]
    public void Expression_results_round_trip_through_stringify()
    {
        ArgoExpression.Stringify(ArgoExpression.Evaluate("6 / 3", new Dictionary<string, object?>())).ShouldBe("2");
        ArgoExpression.Stringify(ArgoExpression.Evaluate("7 / 2", new Dictionary<string, object?>())).ShouldBe("3.5");
        ArgoExpression.Stringify(ArgoExpression.Evaluate("[1, 2] + [3]", new Dictionary<string, object?>())).ShouldBe("[1,2,3]");
    }
}
