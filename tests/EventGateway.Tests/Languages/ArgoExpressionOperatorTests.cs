using Shouldly;
using static EventGateway.Tests.Languages.Env;

namespace EventGateway.Tests.Languages;

public class ArgoExpressionOperatorTests
{
    [Theory]
    [InlineData("1 + 2", 3L)]
    [InlineData("5 - 7", -2L)]
    [InlineData("6 * 7", 42L)]
    [InlineData("7 % 3", 1L)]
    [InlineData("-7 % 3", -1L)]
    [InlineData("-(2 + 3)", -5L)]
    [InlineData("+4", 4L)]
    [InlineData("10 - 2 - 3", 5L)]
    public void Integer_arithmetic_stays_integer(string expression, long expected) =>
        Eval(expression).ShouldBe(expected);

    [Theory]
    [InlineData("7 / 2", 3.5)]
    [InlineData("6 / 3", 2.0)]
    [InlineData("1 + 0.5", 1.5)]
    [InlineData("2.5 * 2", 5.0)]
    [InlineData("2 ** 3", 8.0)]
    [InlineData("2 ^ 3", 8.0)]
    [InlineData("2 ** 3 ** 2", 512.0)]
    [InlineData("-2 ** 2", -4.0)]
    [InlineData("1.5 - 1", 0.5)]
    public void Division_power_and_mixed_arithmetic_are_float(string expression, double expected) =>
        Eval(expression).ShouldBe(expected);

    [Fact]
    public void Division_by_zero_is_infinity_like_go_floats() =>
        Eval("1 / 0").ShouldBe(double.PositiveInfinity);

    [Fact]
    public void Modulo_by_zero_fails() =>
        Fails("1 % 0").Reason.ShouldContain("divide by zero");

    [Fact]
    public void Modulo_needs_integers() =>
        Fails("7.5 % 2").Reason.ShouldContain("modulo");

    [Fact]
    public void Plus_concatenates_strings_and_arrays()
    {
        Eval("'ab' + 'cd'").ShouldBe("abcd");
        Eval("[1] + [2, 3]").ShouldBe(new object?[] { 1L, 2L, 3L });
    }

    [Theory]
    [InlineData("'a' + 1", "cannot add string and int")]
    [InlineData("1 - 'a'", "cannot subtract int and string")]
    [InlineData("true * 2", "cannot multiply bool and int")]
    [InlineData("nil + 1", "cannot add nil and int")]
    public void Mismatched_arithmetic_names_both_types(string expression, string reason) =>
        Fails(expression).Reason.ShouldBe(reason);

    [Theory]
    [InlineData("1 < 2", true)]
    [InlineData("2 <= 2", true)]
    [InlineData("3 > 4", false)]
    [InlineData("4 >= 4.5", false)]
    [InlineData("1.5 > 1", true)]
    [InlineData("'abc' < 'abd'", true)]
    [InlineData("'b' > 'a'", true)]
    public void Ordering_compares_numbers_and_strings(string expression, bool expected) =>
        Eval(expression).ShouldBe(expected);

    [Fact]
    public void Ordering_string_against_number_is_an_error() =>
        Fails("'3' < 4").Reason.ShouldBe("cannot compare string and int with '<'");

    [Theory]
    [InlineData("1 == 1", true)]
    [InlineData("1 == 1.0", true)]
    [InlineData("'1' == 1", false)]
    [InlineData("'1' != 1", true)]
    [InlineData("nil == nil", true)]
    [InlineData("nil == 0", false)]
    [InlineData("true == true", true)]
    [InlineData("[1, 'a'] == [1, 'a']", true)]
    [InlineData("[1, 2] == [2, 1]", false)]
    [InlineData("{a: 1} == {a: 1}", true)]
    [InlineData("{a: 1} != {a: 2}", true)]
    public void Equality_is_deep_and_false_across_types(string expression, bool expected) =>
        Eval(expression).ShouldBe(expected);

    [Theory]
    [InlineData("true && false", false)]
    [InlineData("true and true", true)]
    [InlineData("false || true", true)]
    [InlineData("false or false", false)]
    [InlineData("!true", false)]
    [InlineData("not false", true)]
    [InlineData("!(1 == 2)", true)]
    [InlineData("true || false && false", true)]
    public void Logical_operators(string expression, bool expected) =>
        Eval(expression).ShouldBe(expected);

    [Fact]
    public void Not_binds_tighter_than_comparison() =>
        Fails("not 1 == 2").Reason.ShouldContain("expects bool, got int");

    [Fact]
    public void Logical_operators_short_circuit()
    {
        Eval("false && missing.name").ShouldBe(false);
        Eval("true || 1 / 'x'").ShouldBe(true);
    }

    [Fact]
    public void Logical_operators_need_bools() =>
        Fails("1 && true").Reason.ShouldContain("expects bool, got int");

    [Theory]
    [InlineData("2 in [1, 2, 3]", true)]
    [InlineData("4 in [1, 2, 3]", false)]
    [InlineData("'a' in {a: 1}", true)]
    [InlineData("'b' in {a: 1}", false)]
    [InlineData("4 not in [1, 2, 3]", true)]
    [InlineData("2 not in [1, 2, 3]", false)]
    [InlineData("2.0 in [1, 2]", true)]
    public void Membership(string expression, bool expected) =>
        Eval(expression).ShouldBe(expected);

    [Fact]
    public void In_needs_a_collection() =>
        Fails("'a' in 'abc'").Reason.ShouldContain("needs an array or map");

    [Theory]
    [InlineData("'hello' matches '^h.*o$'", true)]
    [InlineData("'hello' matches '^x'", false)]
    [InlineData("'hello' not matches '^x'", true)]
    [InlineData("'id-42' matches '(?P<n>[0-9]+)'", true)]
    [InlineData("'hello' contains 'ell'", true)]
    [InlineData("'hello' not contains 'z'", true)]
    [InlineData("'hello' startsWith 'he'", true)]
    [InlineData("'hello' endsWith 'lo'", true)]
    [InlineData("'hello' endsWith 'he'", false)]
    [InlineData("'hello' not startsWith 'x'", true)]
    public void String_operators(string expression, bool expected) =>
        Eval(expression).ShouldBe(expected);

    [Fact]
    public void Invalid_regex_is_an_error() =>
        Fails("'a' matches '('").Reason.ShouldContain("invalid regular expression");

    [Fact]
    public void Ternary_and_nested_ternary()
    {
        Eval("1 < 2 ? 'yes' : 'no'").ShouldBe("yes");
        Eval("1 > 2 ? 'yes' : 'no'").ShouldBe("no");
        Eval("false ? 1 : true ? 2 : 3").ShouldBe(2L);
    }

    [Fact]
    public void Ternary_condition_must_be_bool() =>
        Fails("'x' ? 1 : 2").Reason.ShouldContain("ternary condition expects bool");

    [Fact]
    public void Nil_coalescing()
    {
        Eval("nil ?? 'd'").ShouldBe("d");
        Eval("'v' ?? 'd'").ShouldBe("v");
        Eval("false ?? true").ShouldBe(false);
    }

    [Fact]
    public void Ranges_are_inclusive_int_lists()
    {
        Eval("1..3").ShouldBe(new object?[] { 1L, 2L, 3L });
        Eval("3..1").ShouldBe(Array.Empty<object?>());
        Eval("1..1+1").ShouldBe(new object?[] { 1L, 2L });
    }

    [Fact]
    public void Huge_ranges_are_refused() =>
        Fails("0..100000000").Reason.ShouldContain("larger than");

    [Fact]
    public void Index_member_and_negative_index()
    {
        Eval("[10, 20, 30][0]").ShouldBe(10L);
        Eval("[10, 20, 30][-1]").ShouldBe(30L);
        Eval("{a: {b: 5}}.a.b").ShouldBe(5L);
        Eval("{a: {b: 5}}['a']['b']").ShouldBe(5L);
        Eval("'hello'[1]").ShouldBe("e");
        Eval("{a: 1}.missing").ShouldBeNull();
    }

    [Fact]
    public void Index_out_of_range_is_an_error() =>
        Fails("[1, 2][5]").Reason.ShouldBe("index out of range: 5 (array length is 2)");

    [Fact]
    public void Slices_clamp_like_expr()
    {
        Eval("[1, 2, 3, 4, 5][1:4]").ShouldBe(new object?[] { 2L, 3L, 4L });
        Eval("[1, 2, 3, 4, 5][1:-1]").ShouldBe(new object?[] { 2L, 3L, 4L });
        Eval("[1, 2, 3, 4, 5][:2]").ShouldBe(new object?[] { 1L, 2L });
        Eval("[1, 2, 3, 4, 5][3:]").ShouldBe(new object?[] { 4L, 5L });
        Eval("[1, 2, 3][5:9]").ShouldBe(Array.Empty<object?>());
        Eval("'abcdef'[2:4]").ShouldBe("cd");
    }

    [Fact]
    public void Optional_chaining_yields_nil_for_the_whole_chain()
    {
        Eval("nil?.a").ShouldBeNull();
        Eval("nil?.a.b.c").ShouldBeNull();
        Eval("{a: nil}.a?.b").ShouldBeNull();
        Eval("{a: {b: 2}}?.a?.b").ShouldBe(2L);
        Eval("nil?.['x']").ShouldBeNull();
        Eval("nil?.a ?? 'fallback'").ShouldBe("fallback");
    }

    [Fact]
    public void Member_access_on_nil_without_optional_fails() =>
        Fails("{a: nil}.a.b").Reason.ShouldBe("cannot fetch b from nil");

    [Fact]
    public void Pipe_passes_the_value_as_first_argument()
    {
        Eval("'  Hi ' | trim() | upper()").ShouldBe("HI");
        Eval("'a,b' | split(',') | join('-')").ShouldBe("a-b");
        Eval("[1, 2, 3] | filter(# > 1)").ShouldBe(new object?[] { 2L, 3L });
    }
}
