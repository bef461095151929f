using Shouldly;
using static EventGateway.Tests.Languages.Env;

namespace EventGateway.Tests.Languages;

public class SprigFunctionTests
{
    [Theory]
    [InlineData("sprig.upper('abc')", "ABC")]
    [InlineData("sprig.lower('ABC')", "abc")]
    [InlineData("sprig.trim('  x  ')", "x")]
    [InlineData("sprig.trimAll('$', '$5.00$')", "5.00")]
    [InlineData("sprig.trimPrefix('v', 'v1.2')", "1.2")]
    [InlineData("sprig.trimSuffix('-rc', '1.0-rc')", "1.0")]
    [InlineData("sprig.replace(' ', '-', 'a b c')", "a-b-c")]
    [InlineData("sprig.repeat(3, 'ab')", "ababab")]
    [InlineData("sprig.substr(0, 5, 'hello world')", "hello")]
    [InlineData("sprig.substr(6, -1, 'hello world')", "world")]
    [InlineData("sprig.trunc(5, 'hello world')", "hello")]
    [InlineData("sprig.trunc(-5, 'hello world')", "world")]
    [InlineData("sprig.quote('a\"b', 1)", "\"a\\\"b\" \"1\"")]
    [InlineData("sprig.squote('a', 2)", "'a' '2'")]
    [InlineData("sprig.cat('a', 1, nil, true)", "a 1 true")]
    [InlineData("sprig.indent(2, 'a\nb')", "  a\n  b")]
    [InlineData("sprig.nindent(2, 'a')", "\n  a")]
    [InlineData("sprig.title('hello wide-world')", "Hello Wide-World")]
    [InlineData("sprig.untitle('Hello World')", "hello world")]
    [InlineData("sprig.b64enc('Hello World')", "SGVsbG8gV29ybGQ=")]
    [InlineData("sprig.b64dec('SGVsbG8gV29ybGQ=')", "Hello World")]
    [InlineData("sprig.b64dec('@@')", "illegal base64 data at input byte 0")]
    [InlineData("sprig.sha256sum('abc')", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("sprig.toString(12)", "12")]
    [InlineData("sprig.toString(2.5)", "2.5")]
    [InlineData("sprig.join('-', ['a', 1, nil])", "a-1")]
    [InlineData("sprig.join('-', 'solo')", "solo")]
    [InlineData("sprig.regexFind('[0-9]+', 'abc123def45')", "123")]
    [InlineData("sprig.regexFind('[0-9]+', 'abc')", "")]
    [InlineData("sprig.regexReplaceAll('a(x*)b', '-ab-axxb-', '${1}W')", "-W-xxW-")]
    [InlineData("sprig.regexReplaceAll('a(?P<x>x*)b', '-axb-', '[$x][$1][$9]$$')", "-[x][x][]$-")]
    public void String_functions(string expression, string expected) =>
        Eval(expression).ShouldBe(expected);

    [Theory]
    [InlineData("sprig.contains('cat', 'catch')", true)]
    [InlineData("sprig.contains('dog', 'catch')", false)]
    [InlineData("sprig.hasPrefix('ca', 'catch')", true)]
    [InlineData("sprig.hasSuffix('ch', 'catch')", true)]
    [InlineData("sprig.hasSuffix('ca', 'catch')", false)]
    [InlineData("sprig.regexMatch('^[a-z]+$', 'abc')", true)]
    [InlineData("sprig.regexMatch('^[a-z]+$', 'ab1')", false)]
    [InlineData("sprig.regexMatch('(', 'x')", false)]
    [InlineData("sprig.empty('')", true)]
    [InlineData("sprig.empty(0)", true)]
    [InlineData("sprig.empty([])", true)]
    [InlineData("sprig.empty(false)", true)]
    [InlineData("sprig.empty(nil)", true)]
    [InlineData("sprig.empty('x')", false)]
    [InlineData("sprig.empty({a: 1})", false)]
    [InlineData("sprig.has(2, [1, 2])", true)]
    [InlineData("sprig.has(3, [1, 2])", false)]
    [InlineData("sprig.has(1, nil)", false)]
    public void Predicates(string expression, bool expected) =>
        Eval(expression).ShouldBe(expected);

    [Theory]
    [InlineData("sprig.atoi('42')", 42L)]
    [InlineData("sprig.atoi('4x')", 0L)]
    [InlineData("sprig.int('12')", 12L)]
    [InlineData("sprig.int('3.0')", 3L)]
    [InlineData("sprig.int('0x1F')", 31L)]
    [InlineData("sprig.int('nope')", 0L)]
    [InlineData("sprig.int(3.9)", 3L)]
    [InlineData("sprig.int64(true)", 1L)]
    [InlineData("sprig.add(1, 2, '3')", 6L)]
    [InlineData("sprig.sub(10, 4)", 6L)]
    [InlineData("sprig.mul(2, 3, 4)", 24L)]
    [InlineData("sprig.div(7, 2)", 3L)]
    [InlineData("sprig.mod(7, 4)", 3L)]
    [InlineData("sprig.max(1, 9, 3)", 9L)]
    [InlineData("sprig.min(4, 2, 8)", 2L)]
    public void Integer_math_casts_like_sprig(string expression, long expected) =>
        Eval(expression).ShouldBe(expected);

    [Theory]
    [InlineData("sprig.float64('1.5')", 1.5)]
    [InlineData("sprig.float64('x')", 0.0)]
    [InlineData("sprig.float64(2)", 2.0)]
    public void Float64(string expression, double expected) =>
        Eval(expression).ShouldBe(expected);

    [Fact]
    public void Division_by_zero_fails() =>
        Fails("sprig.div(1, 0)").Reason.ShouldBe("sprig.div: integer divide by zero");

    [Fact]
    public void Defaults_and_ternary()
    {
        Eval("sprig.default('d', '')").ShouldBe("d");
        Eval("sprig.default('d', 'given')").ShouldBe("given");
        Eval("sprig.default('d')").ShouldBe("d");
        Eval("sprig.coalesce(nil, '', 'x', 'y')").ShouldBe("x");
        Eval("sprig.coalesce(nil, '')").ShouldBeNull();
        Eval("sprig.ternary('yes', 'no', 1 > 0)").ShouldBe("yes");
        Eval("sprig.ternary('yes', 'no', false)").ShouldBe("no");
    }

    [Fact]
    public void Collections()
    {
        Eval("sprig.list(1, 'a')").ShouldBe(new object?[] { 1L, "a" });
        Eval("sprig.dict('a', 1, 'b', 2)['b']").ShouldBe(2L);
        Eval("sprig.splitList(',', 'a,b')").ShouldBe(new object?[] { "a", "b" });
        Eval("sprig.first([1, 2])").ShouldBe(1L);
        Eval("sprig.last([1, 2])").ShouldBe(2L);
        Eval("sprig.first([])").ShouldBeNull();
        Eval("sprig.uniq([1, 2, 1, 2.0, 'a', 'a'])").ShouldBe(new object?[] { 1L, 2L, "a" });
    }

    [Fact]
    public void Json_functions_swallow_errors_like_sprig()
    {
        Eval("sprig.toJson({a: [1]})").ShouldBe("{\"a\":[1]}");
        Eval("sprig.toPrettyJson({a: 1})").ShouldBe("{\n  \"a\": 1\n}");
        Eval("sprig.fromJson('{\"a\": 2}').a").ShouldBe(2L);
        Eval("sprig.fromJson('not json')").ShouldBeNull();
    }

    [Fact]
    public void RandAlphaNum_has_the_requested_length_and_alphabet()
    {
        var value = Eval("sprig.randAlphaNum(16)").ShouldBeOfType<string>();
        value.Length.ShouldBe(16);
        value.ShouldAllBe(c => char.IsAsciiLetterOrDigit(c));
    }

    [Fact]
    public void Trim_of_a_hyphenated_parameter_from_the_docs() =>
        Eval("sprig.trim(inputs.parameters['my-string-param'])", ("inputs.parameters.my-string-param", "  v  ")).ShouldBe("v");

    [Fact]
    public void Pipe_into_sprig() =>
        Eval("'abc' | sprig.upper()").ShouldBe("ABC");

    [Fact]
    public void Strictly_typed_parameters_reject_other_types() =>
        Fails("sprig.upper(1)").Reason.ShouldBe("sprig.upper: argument 1 must be string, got int");

    [Fact]
    public void Unknown_sprig_function_is_a_parse_error() =>
        Fails("sprig.nope('x')").Reason.ShouldBe("unknown function 'sprig.nope'");

    [Fact]
    public void Methods_on_other_values_are_not_supported() =>
        Fails("workflow.name('x')", ("workflow.name", "n")).Reason.ShouldBe("unknown method 'name'");
}
