using Shouldly;
using EventGateway.Languages.Expr;
using EventGateway.Languages.Govaluate;

namespace EventGateway.Tests.Languages;

public class WhenConditionTests
{
    [Theory]
    [InlineData("heads == heads", true)]
    [InlineData("tails == heads", false)]
    [InlineData("tails != heads", true)]
    [InlineData("Succeeded == Succeeded", true)]
    [InlineData("Failed != Succeeded", true)]
    [InlineData("( tails == tails ) && ( heads == tails )", false)]
    [InlineData("( tails == tails ) || ( heads == tails )", true)]
    [InlineData("[my-value] == [my-value]", true)]
    public void Bare_words_compare_as_strings_like_argo(string when, bool expected) =>
        WhenCondition.Evaluate(when).ShouldBe(expected);

    [Theory]
    [InlineData("7 > 5", true)]
    [InlineData("3 > 5", false)]
    [InlineData("5 >= 5", true)]
    [InlineData("4.5 < 5", true)]
    [InlineData("10 <= 9", false)]
    [InlineData("1 == 1.0", true)]
    [InlineData("007 == 7", true)]
    [InlineData("0x10 == 16", true)]
    [InlineData("2 + 3 * 4 == 14", true)]
    [InlineData("(2 + 3) * 4 == 20", true)]
    [InlineData("10 / 4 == 2.5", true)]
    [InlineData("7 % 4 == 3", true)]
    [InlineData("2 ** 3 == 8", true)]
    [InlineData("-3 < 0", true)]
    [InlineData("10 - 2 - 3 == 5", true)]
    public void Numbers_are_floats(string when, bool expected) =>
        WhenCondition.Evaluate(when).ShouldBe(expected);

    [Theory]
    [InlineData("'a b' == 'a b'", true)]
    [InlineData("\"x\" == 'x'", true)]
    [InlineData("'it\\'s' == \"it's\"", true)]
    [InlineData("'abc' < 'abd'", true)]
    [InlineData("'5' == 5", false)]
    [InlineData("'a' + 'b' == ab", true)]
    [InlineData("'v' + 1 == v1", true)]
    [InlineData("'2021-01-01' < '2021-02-01'", true)]
    [InlineData("'2021-01-01' == '2021-01-01T00:00:00Z'", true)]
    public void Quoted_strings(string when, bool expected) =>
        WhenCondition.Evaluate(when).ShouldBe(expected);

    [Theory]
    [InlineData("true", true)]
    [InlineData("false", false)]
    [InlineData("true == true", true)]
    [InlineData("!false", true)]
    [InlineData("!(1 > 2)", true)]
    [InlineData("true && false || true", true)]
    [InlineData("false || false", false)]
    public void Booleans(string when, bool expected) =>
        WhenCondition.Evaluate(when).ShouldBe(expected);

    [Theory]
    [InlineData("hello =~ hel", true)]
    [InlineData("hello =~ '^l'", false)]
    [InlineData("hello !~ '^x'", true)]
    [InlineData("'v1.2.3' =~ '^v[0-9]+\\.'", true)]
    public void Regex_operators(string when, bool expected) =>
        WhenCondition.Evaluate(when).ShouldBe(expected);

    [Theory]
    [InlineData("heads in (heads, tails)", true)]
    [InlineData("edge in (heads, tails)", false)]
    [InlineData("2 IN (1, 2, 3)", true)]
    [InlineData("4 in (1, 2, 3)", false)]
    [InlineData("x in (x)", true)]
    public void Membership(string when, bool expected) =>
        WhenCondition.Evaluate(when).ShouldBe(expected);

    [Fact]
    public void Ternary_and_coalesce()
    {
        WhenCondition.Evaluate("1 > 0 ? true : false").ShouldBeTrue();
        WhenCondition.Evaluate("1 < 0 ? true : false").ShouldBeFalse();
    }

    [Fact]
    public void Logical_operators_short_circuit() =>
        WhenCondition.Evaluate("false && (1 > 'a')").ShouldBeFalse();

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Empty_condition_holds(string when) =>
        WhenCondition.Evaluate(when).ShouldBeTrue();

    [Fact]
    public void Rendered_item_loop_condition_from_argo_examples()
    {
        foreach (var item in new[] { 3, 7, 9 })
        {
            WhenCondition.Evaluate($"{item} > 5").ShouldBe(item > 5);
        }
    }

    [Theory]
    [InlineData("heads", "expected a boolean result, got heads")]
    [InlineData("1 + 2", "expected a boolean result, got 3")]
    [InlineData("5 > abc", "'>' needs two numbers or two strings, got number and string")]
    [InlineData("my-value == my-value", "'-' needs numbers, got string and string")]
    [InlineData("v1.2 == v1.2", "no parameter 'v1.2' found (values containing '.' must be quoted)")]
    [InlineData("{{steps.flip.outputs.result}} == heads", "invalid token '{' (hint: wrap values containing special characters in quotes)")]
    [InlineData("1 && true", "'&&' needs bools, got number")]
    [InlineData("!5", "'!' needs a bool, got number")]
    [InlineData("(1 > 2", "expected ')' but found end of expression")]
    [InlineData("1.2.3 > 1", "cannot parse '1.2.3' as a number")]
    [InlineData("a =~ '('", "invalid regular expression")]
    [InlineData("5 & 3", "operator '&' is not supported")]
    [InlineData("heads == ", "unexpected end of expression")]
    public void Errors_name_the_text(string when, string reason)
    {
        var e = Should.Throw<ExpressionException>(() => WhenCondition.Evaluate(when));
        e.Reason.ShouldStartWith(reason);
        e.Expression.ShouldBe(when);
        e.Message.ShouldContain(when);
    }

    [Fact]
    public void Error_position_is_reported() =>
        Should.Throw<ExpressionException>(() => WhenCondition.Evaluate("1 == 1 && 5 > abc")).Position.ShouldBe(12);

    [Fact]
    public void Repeated_conditions_give_the_same_answer()
    {
        WhenCondition.Evaluate("heads == heads").ShouldBeTrue();
        WhenCondition.Evaluate("heads == heads").ShouldBeTrue();
        Should.Throw<ExpressionException>(() => WhenCondition.Evaluate("nope"));
        Should.Throw<ExpressionException>(() => WhenCondition.Evaluate("nope"));
    }
}
