using Shouldly;
using static EventGateway.Tests.Languages.Env;

namespace EventGateway.Tests.Languages;

public class ArgoExpressionPredicateTests
{
    [Fact]
    public void Filter_and_map_from_the_argo_docs()
    {
        Eval("filter([1, 2], { # > 1})").ShouldBe(new object?[] { 2L });
        Eval("map([1, 2], { # * 2 })").ShouldBe(new object?[] { 2L, 4L });
    }

    [Fact]
    public void Braces_around_the_predicate_are_optional() =>
        Eval("filter(0..9, # % 2 == 0)").ShouldBe(new object?[] { 0L, 2L, 4L, 6L, 8L });

    [Theory]
    [InlineData("all([2, 4], # % 2 == 0)", true)]
    [InlineData("all([2, 3], # % 2 == 0)", false)]
    [InlineData("all([], # > 0)", true)]
    [InlineData("any([1, 2], # > 1)", true)]
    [InlineData("any([1, 2], # > 5)", false)]
    [InlineData("any([], # > 0)", false)]
    [InlineData("none([1, 2], # > 5)", true)]
    [InlineData("none([1, 6], # > 5)", false)]
    [InlineData("one([1, 6], # > 5)", true)]
    [InlineData("one([7, 6], # > 5)", false)]
    public void Quantifiers(string expression, bool expected) =>
        Eval(expression).ShouldBe(expected);

    [Fact]
    public void Count_and_sum()
    {
        Eval("count([1, 5, 7], # > 2)").ShouldBe(2L);
        Eval("count([true, false, true])").ShouldBe(2L);
        Eval("sum([1, 2, 3])").ShouldBe(6L);
        Eval("sum([1, 2.5])").ShouldBe(3.5);
        Eval("sum([])").ShouldBe(0L);
        Eval("sum([1, 2, 3], # * 10)").ShouldBe(60L);
    }

    [Fact]
    public void Find_and_findIndex()
    {
        Eval("find([1, 2, 3, 4], # > 2)").ShouldBe(3L);
        Eval("find([1], # > 2)").ShouldBeNull();
        Eval("findIndex([1, 2, 3, 4], # > 2)").ShouldBe(2L);
        Eval("findIndex([1], # > 2)").ShouldBe(-1L);
    }

    [Fact]
    public void Field_shorthand_and_index_pointer()
    {
        var items = new List<object?>
        {
            new Dictionary<string, object?> { ["name"] = "a", ["size"] = 1L },
            new Dictionary<string, object?> { ["name"] = "b", ["size"] = 5L },
        };
        Eval("map(filter(items, .size > 2), .name)", ("items", items)).ShouldBe(new object?[] { "b" });
        Eval("map(items, #.name + string(#index))", ("items", items)).ShouldBe(new object?[] { "a0", "b1" });
    }

    [Fact]
    public void Nested_predicates_rebind_the_pointer() =>
        Eval("map([[1, 2], [3]], sum(map(#, # * 2)))").ShouldBe(new object?[] { 6L, 6L });

    [Fact]
    public void Predicate_must_return_bool_for_filter() =>
        Fails("filter([1], # + 1)").Reason.ShouldBe("predicate of filter expects bool, got int");

    [Fact]
    public void Pointer_outside_a_predicate_is_a_parse_error() =>
        Fails("# + 1").Reason.ShouldContain("inside a predicate");

    [Fact]
    public void Missing_predicate_is_a_parse_error() =>
        Fails("filter([1])").Reason.ShouldBe("filter expects a predicate as its second argument");

    [Fact]
    public void Predicate_functions_need_an_array() =>
        Fails("map('abc', #)").Reason.ShouldBe("map: first argument must be an array, got string");
}
