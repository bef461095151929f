using Shouldly;
using static EventGateway.Tests.Languages.Env;
using EventGateway.Languages.Expr;

namespace EventGateway.Tests.Languages;

public class ArgoExpressionErrorTests
{
    [Theory]
    [InlineData("1 +", "unexpected end of expression", 3)]
    [InlineData("(1 + 2", "expected ')' but found end of expression", 6)]
    [InlineData("[1, 2", "expected ']' but found end of expression", 5)]
    [InlineData("1 2", "unexpected '2'", 2)]
    [InlineData("'open", "unterminated string literal", 0)]
    [InlineData("1 @ 2", "unexpected character '@'", 2)]
    [InlineData("", "empty expression", 0)]
    [InlineData("a.", "expected a name after '.', found end of expression", 2)]
    [InlineData("true ? 1", "expected ':' but found end of expression", 8)]
    [InlineData("99999999999999999999", "integer literal '99999999999999999999' is out of range", 0)]
    public void Syntax_errors_report_reason_and_position(string expression, string reason, int position)
    {
        var e = Fails(expression);
        e.Reason.ShouldBe(reason);
        e.Position.ShouldBe(position);
        e.Expression.ShouldBe(expression);
    }

    [Fact]
    public void Message_names_expression_position_and_reason()
    {
        var e = Fails("1 + 'a'");
        e.Message.ShouldBe("cannot add int and string at position 2 in expression '1 + 'a''");
    }

    [Fact]
    public void Runtime_error_position_points_at_the_operator() =>
        Fails("1 + 2 * 'x'").Position.ShouldBe(6);

    [Fact]
    public void Null_arguments_are_rejected()
    {
        Should.Throw<ArgumentNullException>(() => ArgoExpression.Evaluate(null!, Env.Of()));
        Should.Throw<ArgumentNullException>(() => ArgoExpression.Evaluate("1", null!));
    }

    [Fact]
    public void Failed_parses_are_not_cached_and_keep_failing()
    {
        Fails("(((");
        Fails("(((").Reason.ShouldStartWith("unexpected");
    }
}
