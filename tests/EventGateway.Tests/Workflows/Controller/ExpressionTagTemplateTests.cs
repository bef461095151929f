using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Controller;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>
/// Argo's examples/expression-tag-template-workflow.yaml: expression tags in withParam, arguments and a container's
/// args, sprig.date among them. Its image's entrypoint (argoproj/argosay) is not run here (README, "Steps are
/// processes"), so this checks what the step is started with.
/// </summary>
public sealed class ExpressionTagTemplateTests
{
    [Fact]
    public void The_example_renders_its_expression_tags_including_sprig_date()
    {
        var wf = ManifestReader.Read(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "ArgoWorkflowsRuntime", "expression-tag-template-workflow.yaml")))
            .OfType<Workflow>().Single();
        wf.Metadata.Name = "expr";
        wf.Metadata.CreationTimestamp = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var op = new WorkflowOperator(wf, new FakeTimeProvider(new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero)));

        var years = new[] { DateTimeOffset.UtcNow.Year, DateTimeOffset.UtcNow.AddMinutes(1).Year }; // sprig: a string time is "now"
        var pod = op.Operate([]).Pods.ShouldHaveSingleItem();

        pod.NodeName.ShouldBe("expr.task-0(0:3)");
        pod.Template.Container!.Args![1].ShouldBeOneOf(years.Select(y => $"hello 30 @ {y}\n").ToArray());
        op.Workflow.Status!.Nodes!.Values.ShouldNotContain(n => n.Phase == NodePhase.Error);
    }
}
