using Shouldly;
using EventGateway.Languages.Depends;
using EventGateway.Languages.Expr;
using EventGateway.Languages.Govaluate;

namespace EventGateway.Tests.Languages;

/// <summary>Hostile nesting must fail with ExpressionException, never with an uncatchable stack overflow.</summary>
public class NestingLimitTests
{
    private static string Nest(string open, string core, string close, int depth) =>
        string.Concat(Enumerable.Repeat(open, depth)) + core + string.Concat(Enumerable.Repeat(close, depth));

    [Theory]
    [InlineData("(", "1", ")")]
    [InlineData("!", "true", "")]
    [InlineData("[", "1", "]")]
    public void Argo_expression_depth_is_limited(string open, string core, string close)
    {
        Should.Throw<ExpressionException>(() => ArgoExpression.Evaluate(Nest(open, core, close, 5000), new Dictionary<string, object?>()))
            .Reason.ShouldBe("expression is nested more than 200 levels deep");
    }

    [Fact]
    public void Reasonable_nesting_still_works() =>
        ArgoExpression.Evaluate(Nest("(", "1", ")", 100), new Dictionary<string, object?>()).ShouldBe(1L);

    [Theory]
    [InlineData("(", "true", ")")]
    [InlineData("!", "true", "")]
    public void When_depth_is_limited(string open, string core, string close) =>
        Should.Throw<ExpressionException>(() => WhenCondition.Evaluate(Nest(open, core, close, 5000)))
            .Reason.ShouldBe("expression is nested more than 200 levels deep");

    [Fact]
    public void When_reasonable_nesting_still_works() =>
        WhenCondition.Evaluate(Nest("(", "true", ")", 100)).ShouldBeTrue();

    [Theory]
    [InlineData("(", "A", ")")]
    [InlineData("!", "A", "")]
    public void Depends_depth_is_limited(string open, string core, string close) =>
        Should.Throw<ExpressionException>(() => DependsExpression.Parse(Nest(open, core, close, 5000)))
            .Reason.ShouldBe("expression is nested more than 200 levels deep");

    [Fact]
    public void Depends_reasonable_nesting_still_works() =>
        DependsExpression.Parse(Nest("(", "A", ")", 100)).TaskNames.ShouldBe(new[] { "A" });
}
