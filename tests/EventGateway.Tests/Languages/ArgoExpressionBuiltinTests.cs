using Shouldly;
using static EventGateway.Tests.Languages.Env;

namespace EventGateway.Tests.Languages;

public class ArgoExpressionBuiltinTests
{
    [Theory]
    [InlineData("len('hello')", 5L)]
    [InlineData("len([1, 2, 3])", 3L)]
    [InlineData("len({a: 1, b: 2})", 2L)]
    [InlineData("abs(-5)", 5L)]
    [InlineData("int(3.9)", 3L)]
    [InlineData("int(-3.9)", -3L)]
    [InlineData("int('42')", 42L)]
    [InlineData("indexOf('apple pie', 'pie')", 6L)]
    [InlineData("indexOf('apple', 'z')", -1L)]
    [InlineData("lastIndexOf('apple pie apple', 'apple')", 10L)]
    [InlineData("max(5, 7, 2)", 7L)]
    [InlineData("min(5, 7, 2)", 2L)]
    [InlineData("max([4, 9, 1])", 9L)]
    public void Integer_results(string expression, long expected) =>
        Eval(expression).ShouldBe(expected);

    [Theory]
    [InlineData("abs(-2.5)", 2.5)]
    [InlineData("float(3)", 3.0)]
    [InlineData("float('1.25')", 1.25)]
    [InlineData("max(1, 2.5)", 2.5)]
    [InlineData("min(1.5, 2)", 1.5)]
    [InlineData("ceil(1.2)", 2.0)]
    [InlineData("floor(1.8)", 1.0)]
    [InlineData("round(2.5)", 3.0)]
    public void Float_results(string expression, double expected) =>
        Eval(expression).ShouldBe(expected);

    [Theory]
    [InlineData("string(1)", "1")]
    [InlineData("string(1.5)", "1.5")]
    [InlineData("string(true)", "true")]
    [InlineData("string([1, 'a'])", "[1 a]")]
    [InlineData("upper('abc')", "ABC")]
    [InlineData("lower('ABC')", "abc")]
    [InlineData("trim('  hi  ')", "hi")]
    [InlineData("trim('__hi__', '_')", "hi")]
    [InlineData("trimPrefix('HelloWorld', 'Hello')", "World")]
    [InlineData("trimPrefix('HelloWorld', 'x')", "HelloWorld")]
    [InlineData("trimSuffix('HelloWorld', 'World')", "Hello")]
    [InlineData("replace('Hello World', 'World', 'There')", "Hello There")]
    [InlineData("replace('ab', '', '-')", "-a-b-")]
    [InlineData("repeat('Hi', 3)", "HiHiHi")]
    [InlineData("join(['a', 'b', 'c'], ',')", "a,b,c")]
    [InlineData("join(['a', 'b'])", "ab")]
    public void String_results(string expression, string expected) =>
        Eval(expression).ShouldBe(expected);

    [Theory]
    [InlineData("hasPrefix('HelloWorld', 'Hello')", true)]
    [InlineData("hasPrefix('HelloWorld', 'World')", false)]
    [InlineData("hasSuffix('HelloWorld', 'World')", true)]
    [InlineData("hasSuffix('HelloWorld', 'Hello')", false)]
    public void Prefix_and_suffix(string expression, bool expected) =>
        Eval(expression).ShouldBe(expected);

    [Fact]
    public void Split_follows_go_splitn()
    {
        Eval("split('a,b,c', ',')").ShouldBe(new object?[] { "a", "b", "c" });
        Eval("split('a,b,c', ',', 2)").ShouldBe(new object?[] { "a", "b,c" });
        Eval("split('abc', '')").ShouldBe(new object?[] { "a", "b", "c" });
        Eval("split('a,b', ',', 0)").ShouldBe(Array.Empty<object?>());
    }

    [Fact]
    public void First_last_keys_values()
    {
        Eval("first([1, 2, 3])").ShouldBe(1L);
        Eval("last([1, 2, 3])").ShouldBe(3L);
        Eval("first([])").ShouldBeNull();
        Eval("keys({a: 1, b: 2})").ShouldBe(new object?[] { "a", "b" });
        Eval("values({a: 1, b: 2})").ShouldBe(new object?[] { 1L, 2L });
    }

    [Fact]
    public void ToJSON_is_indented_and_sorted()
    {
        Eval("toJSON({b: 1, a: [1, 2]})").ShouldBe("{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": 1\n}");
        Eval("toJSON([])").ShouldBe("[]");
    }

    [Fact]
    public void FromJSON_produces_longs_for_integral_numbers()
    {
        var map = Eval("fromJSON('{\"a\": 1, \"b\": 1.5, \"c\": [true, null, \"s\"], \"d\": 2.0}')")
            .ShouldBeAssignableTo<IReadOnlyDictionary<string, object?>>()!;
        map["a"].ShouldBe(1L);
        map["b"].ShouldBe(1.5);
        map["c"].ShouldBe(new object?[] { true, null, "s" });
        map["d"].ShouldBe(2L);
    }

    [Fact]
    public void FromJSON_rejects_invalid_json() =>
        Fails("fromJSON('{nope')").Reason.ShouldStartWith("invalid JSON");

    [Theory]
    [InlineData("len(5)", "len: invalid argument of type int")]
    [InlineData("int('3.5')", "int: cannot parse '3.5' as int")]
    [InlineData("float('abc')", "float: cannot parse 'abc' as float")]
    [InlineData("upper(1)", "upper: argument 1 must be string, got int")]
    [InlineData("max('a', 1)", "max: expects numbers, got string")]
    [InlineData("repeat('a', -1)", "repeat: invalid repeat count -1")]
    [InlineData("first('abc')", "first: argument 1 must be an array, got string")]
    public void Bad_arguments_fail_with_function_name(string expression, string reason) =>
        Fails(expression).Reason.ShouldBe(reason);

    [Fact]
    public void Unknown_function_is_a_parse_error()
    {
        var e = Fails("1 + nope(2)");
        e.Reason.ShouldBe("unknown function 'nope'");
        e.Position.ShouldBe(4);
    }

    [Fact]
    public void Wrong_arity_is_a_parse_error() =>
        Fails("upper('a', 'b')").Reason.ShouldBe("upper expects 1 argument(s), got 2");

    [Fact]
    public void Builtin_error_position_points_at_the_call() =>
        Fails("'x' + upper(1)").Position.ShouldBe(6);
}
