using Shouldly;
using EventGateway.Model;
using EventGateway.Workflows.Store;

namespace EventGateway.Tests.Workflows.Store;

/// <summary>Kubernetes label selectors, in string form (listOptions.labelSelector) and typed (podGC.labelSelector).</summary>
public sealed class LabelMatcherTests
{
    private static readonly Dictionary<string, string> Labels = new() { ["app"] = "ci", ["tier"] = "web", ["example.com/owner"] = "ops" };

    [Theory]
    [InlineData("", true)]
    [InlineData("app=ci", true)]
    [InlineData("app==ci,tier=web", true)]
    [InlineData("app=cd", false)]
    [InlineData("app!=cd", true)]
    [InlineData("missing!=x", true)]
    [InlineData("tier in (web, db)", true)]
    [InlineData("tier notin (web)", false)]
    [InlineData("example.com/owner", true)]
    [InlineData("!example.com/owner", false)]
    [InlineData("!legacy,app in (ci)", true)]
    public void String_form_matches_as_kubernetes_does(string selector, bool matches) =>
        LabelMatcher.Parse(selector).Matches(Labels).ShouldBe(matches, selector);

    [Theory]
    [InlineData("=ci", "label selector term '=ci': '=ci' is not a label key")]
    [InlineData("a b=c", "'a b' is not a label key")]
    public void Bad_terms_are_refused_with_the_term(string selector, string message) =>
        Should.Throw<FormatException>(() => LabelMatcher.Parse(selector)).Message.ShouldContain(message);

    [Fact]
    public void Typed_form_ands_match_labels_and_expressions()
    {
        var selector = new LabelSelector
        {
            MatchLabels = new() { ["app"] = "ci" },
            MatchExpressions = [new() { Key = "tier", Operator = "NotIn", Values = ["db"] }, new() { Key = "legacy", Operator = "DoesNotExist" }],
        };
        LabelMatcher.From(selector).Matches(Labels).ShouldBeTrue();
        LabelMatcher.From(selector).Matches(new Dictionary<string, string> { ["app"] = "ci", ["legacy"] = "1" }).ShouldBeFalse();
        Should.Throw<FormatException>(() => LabelMatcher.From(new LabelSelector { MatchExpressions = [new() { Key = "a", Operator = "In" }] }))
            .Message.ShouldBe("matchExpressions[0].values: In needs at least one value");
    }
}
