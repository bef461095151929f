using Shouldly;
using static EventGateway.Tests.Languages.Env;
using EventGateway.Languages.Expr;

namespace EventGateway.Tests.Languages;

public class ArgoExpressionEnvTests
{
    private static readonly (string, object?)[] Workflow =
    [
        ("workflow.name", "wf-abc"),
        ("workflow.namespace", "argo"),
        ("inputs.parameters.count", "3"),
        ("inputs.parameters.my-param", "hyphen"),
        ("inputs.parameters", "[{\"name\":\"count\",\"value\":\"3\"}]"),
        ("steps.gen.outputs.result", "[1,2]"),
        ("steps.my-step.outputs.result", "done"),
        ("item", "x"),
    ];

    [Fact]
    public void Dotted_names_resolve_through_the_nested_view()
    {
        Eval("workflow.name", Workflow).ShouldBe("wf-abc");
        Eval("inputs.parameters.count", Workflow).ShouldBe("3");
        Eval("item", Workflow).ShouldBe("x");
    }

    [Fact]
    public void Hyphenated_names_resolve_with_index_syntax()
    {
        Eval("inputs.parameters['my-param']", Workflow).ShouldBe("hyphen");
        Eval("inputs.parameters[\"my-param\"]", Workflow).ShouldBe("hyphen");
        Eval("steps['my-step'].outputs.result", Workflow).ShouldBe("done");
    }

    [Fact]
    public void Hyphen_in_dotted_syntax_is_subtraction_like_argo() =>
        Fails("inputs.parameters.my-param", Workflow).Reason.ShouldBe("unknown name 'inputs.parameters.my'");

    [Fact]
    public void A_key_that_is_also_a_prefix_resolves_to_its_own_value()
    {
        Eval("inputs.parameters", Workflow).ShouldBe("[{\"name\":\"count\",\"value\":\"3\"}]");
        Eval("inputs.parameters.count", Workflow).ShouldBe("3");
    }

    [Fact]
    public void Leaf_and_prefix_key_still_reaches_children_through_dynamic_index() =>
        Eval("inputs.parameters[lower('COUNT')]", Workflow).ShouldBe("3");

    [Fact]
    public void In_sees_children_of_a_leaf_and_prefix_key()
    {
        Eval("'count' in inputs.parameters", Workflow).ShouldBe(true);
        Eval("'nope' in inputs.parameters", Workflow).ShouldBe(false);
    }

    [Fact]
    public void A_prefix_without_its_own_value_is_a_map()
    {
        var map = Eval("workflow", Workflow).ShouldBeOfType<Dictionary<string, object?>>();
        map["name"].ShouldBe("wf-abc");
        Eval("keys(workflow)", Workflow).ShouldBe(new object?[] { "name", "namespace" });
        Eval("len(workflow)", Workflow).ShouldBe(2L);
        Render("workflow", Workflow).ShouldBe("{\"name\":\"wf-abc\",\"namespace\":\"argo\"}");
    }

    [Fact]
    public void Enumerating_a_level_collapses_leaf_and_prefix_children()
    {
        (string, object?)[] env = [("a.b", "leaf"), ("a.b.c", 1L), ("a.d", 2L)];
        Render("a", env).ShouldBe("{\"b\":\"leaf\",\"d\":2}");
        Eval("keys(a)", env).ShouldBe(new object?[] { "b", "d" });
        Eval("a.b.c", env).ShouldBe(1L);
        Eval("a['b']['c']", env).ShouldBe(1L);
        Eval("a[lower('D')]", env).ShouldBe(2L);
    }

    [Fact]
    public void Map_results_are_detached_plain_dictionaries()
    {
        var env = new Dictionary<string, object?> { ["a.b.c"] = 1L, ["a.d"] = 2L };
        var map = ArgoExpression.Evaluate("a", env).ShouldBeOfType<Dictionary<string, object?>>();
        env.Clear();
        map["d"].ShouldBe(2L);
        map["b"].ShouldBeOfType<Dictionary<string, object?>>()["c"].ShouldBe(1L);
    }

    [Fact]
    public void Map_and_list_values_are_navigable()
    {
        var item = new Dictionary<string, object?> { ["name"] = "a", ["tags"] = new List<object?> { "t1", "t2" } };
        Eval("item.name", ("item", item)).ShouldBe("a");
        Eval("item['tags'][1]", ("item", item)).ShouldBe("t2");
        Eval("item.tags[-1]", ("item", item)).ShouldBe("t2");
    }

    [Fact]
    public void Flat_children_merge_with_a_map_value()
    {
        var item = new Dictionary<string, object?> { ["name"] = "a" };
        Eval("item.extra", ("item", item), ("item.extra", "e")).ShouldBe("e");
        Eval("item.name", ("item", item), ("item.extra", "e")).ShouldBe("a");
    }

    [Fact]
    public void Values_of_other_clr_numeric_types_are_normalised()
    {
        Eval("n + 1", ("n", 41)).ShouldBe(42L);
        Eval("f * 2", ("f", 1.25f)).ShouldBe(2.5);
        Eval("n", ("n", 7)).ShouldBe(7L);
    }

    [Fact]
    public void Unknown_name_reports_the_full_path()
    {
        var e = Fails("inputs.parameters.x + 1", Workflow);
        e.Reason.ShouldBe("unknown name 'inputs.parameters.x'");
        e.Position.ShouldBe(0);
        e.Message.ShouldContain("inputs.parameters.x + 1");
    }

    [Fact]
    public void Unknown_root_name_is_reported() =>
        Fails("nothing", Workflow).Reason.ShouldBe("unknown name 'nothing'");

    [Fact]
    public void Coalescing_turns_an_unknown_name_into_a_default()
    {
        Eval("inputs.parameters.x ?? 'fallback'", Workflow).ShouldBe("fallback");
        Eval("inputs.parameters.count ?? 'fallback'", Workflow).ShouldBe("3");
    }

    [Fact]
    public void Optional_member_turns_a_missing_variable_into_nil() =>
        Eval("inputs?.parameters?.x", Workflow).ShouldBeNull();

    [Fact]
    public void Argo_style_arithmetic_on_parameters()
    {
        Eval("asInt(inputs.parameters.count) * 2", Workflow).ShouldBe(6L);
        Eval("map(fromJSON(steps.gen.outputs.result), # * 10)", Workflow).ShouldBe(new object?[] { 10L, 20L });
    }

    [Fact]
    public void Env_is_not_modified()
    {
        var env = Of(Workflow);
        ArgoExpression.Evaluate("workflow.name + item", env).ShouldBe("wf-abcx");
        env.Count.ShouldBe(Workflow.Length);
    }
}
