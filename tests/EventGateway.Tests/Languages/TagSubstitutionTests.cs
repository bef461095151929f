using Shouldly;
using EventGateway.Languages.Tags;
using EventGateway.Languages.Expr;

namespace EventGateway.Tests.Languages;

public class TagSubstitutionTests
{
    private static readonly Dictionary<string, object?> Vars = new(StringComparer.Ordinal)
    {
        ["inputs.parameters.message"] = "hello world",
        ["inputs.parameters.count"] = "3",
        ["inputs.parameters.my-param"] = "mine",
        ["workflow.name"] = "wf-abc",
    };

    private static string? Lookup(string name) => Vars.TryGetValue(name, out var v) ? v as string : null;

    private static IReadOnlyDictionary<string, object?> ExpressionEnv() => Vars;

    private static string Render(string text, bool strict = true) =>
        TagSubstitution.Render(text, Lookup, ExpressionEnv, strict);

    [Fact]
    public void Simple_tags_are_replaced()
    {
        Render("echo {{inputs.parameters.message}}").ShouldBe("echo hello world");
        Render("{{workflow.name}}-{{inputs.parameters.count}}").ShouldBe("wf-abc-3");
    }

    [Fact]
    public void Whitespace_inside_simple_tags_is_trimmed() =>
        Render("[{{ inputs.parameters.message }}]").ShouldBe("[hello world]");

    [Fact]
    public void Expression_tags_are_evaluated_and_stringified()
    {
        Render("{{=asInt(inputs.parameters.count) * 2}}").ShouldBe("6");
        Render("n={{=asInt(inputs.parameters.count) / 2}}").ShouldBe("n=1.5");
        Render("{{=inputs.parameters['my-param']}}").ShouldBe("mine");
        Render("{{=[1, 2]}}").ShouldBe("[1,2]");
        Render("{{=upper(workflow.name)}} and {{workflow.name}}").ShouldBe("WF-ABC and wf-abc");
    }

    [Fact]
    public void Text_without_tags_is_returned_as_the_same_instance()
    {
        var text = new string('x', 100);
        ReferenceEquals(Render(text), text).ShouldBeTrue();
        ReferenceEquals(Render("a { b } c {"), "a { b } c {").ShouldBeTrue();
    }

    [Fact]
    public void Text_without_tags_does_not_allocate()
    {
        var text = "plain argument without any template tags at all, repeated " + new string('y', 200);
        Func<string, string?> lookup = Lookup;
        Func<IReadOnlyDictionary<string, object?>> env = ExpressionEnv;
        TagSubstitution.Render(text, lookup, env, strict: true);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            TagSubstitution.Render(text, lookup, env, strict: true);
        }

        (GC.GetAllocatedBytesForCurrentThread() - before).ShouldBe(0);
    }

    [Fact]
    public void Expression_env_factory_is_only_called_when_an_expression_tag_exists()
    {
        var calls = 0;
        IReadOnlyDictionary<string, object?> Factory()
        {
            calls++;
            return Vars;
        }

        TagSubstitution.Render("{{workflow.name}}", Lookup, Factory, strict: true).ShouldBe("wf-abc");
        calls.ShouldBe(0);
        TagSubstitution.Render("{{=workflow.name}} {{=workflow.name}}", Lookup, Factory, strict: true).ShouldBe("wf-abc wf-abc");
        calls.ShouldBe(1);
    }

    [Fact]
    public void Strict_mode_throws_for_unknown_simple_tags()
    {
        var e = Should.Throw<UnresolvedVariableException>(() => Render("x {{ steps.nope.outputs.result }} y"));
        e.Name.ShouldBe("steps.nope.outputs.result");
        e.Message.ShouldBe("failed to resolve {{steps.nope.outputs.result}}");
    }

    [Fact]
    public void Lenient_mode_keeps_unknown_simple_tags_verbatim() =>
        Render("a {{ nope }} b {{workflow.name}}", strict: false).ShouldBe("a {{ nope }} b wf-abc");

    [Fact]
    public void Lenient_mode_keeps_expressions_with_unknown_names_verbatim() =>
        Render("{{=asInt(steps.gen.outputs.result) + 1}}|{{=workflow.name}}", strict: false)
            .ShouldBe("{{=asInt(steps.gen.outputs.result) + 1}}|wf-abc");

    [Fact]
    public void Lenient_mode_keeps_nil_results_verbatim() =>
        Render("[{{=nil}}]", strict: false).ShouldBe("[{{=nil}}]");

    [Fact]
    public void Strict_mode_fails_for_unknown_names_and_nil_results()
    {
        Should.Throw<ExpressionException>(() => Render("{{=steps.gen.outputs.result}}")).Reason.ShouldBe("unknown name 'steps.gen.outputs.result'");
        Should.Throw<ExpressionException>(() => Render("{{=nil}}")).Reason.ShouldBe("expression evaluated to nil");
    }

    [Fact]
    public void Other_expression_errors_throw_even_in_lenient_mode()
    {
        Should.Throw<ExpressionException>(() => Render("{{='a' + 1}}", strict: false)).Reason.ShouldBe("cannot add string and int");
        Should.Throw<ExpressionException>(() => Render("{{=1 +}}", strict: false));
    }

    [Fact]
    public void Unterminated_tag_is_plain_text() =>
        Render("{{workflow.name}} and {{ never closed").ShouldBe("wf-abc and {{ never closed");

    [Fact]
    public void Expression_tag_requires_equals_right_after_the_braces() =>
        Render("{{ =workflow.name }}", strict: false).ShouldBe("{{ =workflow.name }}");

    [Fact]
    public void VariableNames_lists_simple_tags_only()
    {
        TagSubstitution.VariableNames("{{a}} {{=b + 1}} {{ c.d }} {{}} {{a}}").ShouldBe(new[] { "a", "c.d", "a" });
        TagSubstitution.VariableNames("no tags").ShouldBeEmpty();
        TagSubstitution.VariableNames("{{open").ShouldBeEmpty();
    }
}
