using Shouldly;
using static EventGateway.Tests.Languages.Env;

namespace EventGateway.Tests.Languages;

public class ArgoExpressionLiteralTests
{
    [Theory]
    [InlineData("42", 42L)]
    [InlineData("0x2A", 42L)]
    [InlineData("0o52", 42L)]
    [InlineData("0b101010", 42L)]
    [InlineData("1_000", 1000L)]
    [InlineData("-7", -7L)]
    public void Integer_literals_are_long(string expression, long expected) =>
        Eval(expression).ShouldBe(expected);

    [Theory]
    [InlineData("0.5", 0.5)]
    [InlineData(".5", 0.5)]
    [InlineData("1e3", 1000.0)]
    [InlineData("2.5e-1", 0.25)]
    public void Float_literals_are_double(string expression, double expected) =>
        Eval(expression).ShouldBe(expected);

    [Theory]
    [InlineData("'single'", "single")]
    [InlineData("\"double\"", "double")]
    [InlineData("'it\\'s'", "it's")]
    [InlineData("\"a\\nb\"", "a\nb")]
    [InlineData("\"tab\\there\"", "tab\there")]
    [InlineData("'\\u00e9'", "é")]
    [InlineData("'\\x41'", "A")]
    [InlineData("`raw\\n`", "raw\\n")]
    public void String_literals_decode_escapes(string expression, string expected) =>
        Eval(expression).ShouldBe(expected);

    [Fact]
    public void Booleans_and_nil()
    {
        Eval("true").ShouldBe(true);
        Eval("false").ShouldBe(false);
        Eval("nil").ShouldBeNull();
    }

    [Fact]
    public void Array_literal_with_trailing_comma()
    {
        Eval("[1, 'a', true, nil, 2.5,]").ShouldBe(new object?[] { 1L, "a", true, null, 2.5 });
        Eval("[]").ShouldBe(Array.Empty<object?>());
    }

    [Fact]
    public void Map_literal_accepts_identifier_string_and_number_keys()
    {
        var map = Eval("{a: 1, 'b-c': 'x', 3: true}").ShouldBeAssignableTo<IReadOnlyDictionary<string, object?>>()!;
        map["a"].ShouldBe(1L);
        map["b-c"].ShouldBe("x");
        map["3"].ShouldBe(true);
    }

    [Fact]
    public void Comments_are_ignored() =>
        Eval("1 /* one */ + // plus\n 2").ShouldBe(3L);

    [Fact]
    public void Parentheses_override_precedence()
    {
        Eval("(1 + 2) * 3").ShouldBe(9L);
        Eval("1 + 2 * 3").ShouldBe(7L);
    }
}
