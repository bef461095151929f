using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Server.Hosting;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Controller;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>
/// A loop task's <c>when</c> that names the item is decided per item, after the loop expands, as Argo's DAG does
/// (examples/parameter-aggregation-dag.yaml: <c>when: "{{item.evenness}} == even"</c> over withParam).
/// </summary>
public sealed class LoopConditionTests
{
    [Fact]
    public void A_dag_loop_condition_on_the_item_skips_the_items_it_rejects_and_runs_the_others()
    {
        var wf = ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: wf}
            spec:
              entrypoint: main
              templates:
              - name: main
                dag:
                  tasks:
                  - name: half
                    template: echo
                    withParam: '[{"n": "1", "e": "odd"}, {"n": "2", "e": "even"}, {"n": "4", "e": "even"}]'
                    when: "{{item.e}} == even"
                    arguments: {parameters: [{name: v, value: "{{item.n}}"}]}
                  - name: expr
                    template: echo
                    withItems: [1, 2, 3]
                    when: "{{= item > 2 }}"
                    arguments: {parameters: [{name: v, value: "{{item}}"}]}
              - name: echo
                inputs: {parameters: [{name: v}]}
                container: {image: x, command: [echo, "{{inputs.parameters.v}}"]}
            """).OfType<Workflow>().Single();
        var op = new WorkflowOperator(wf, new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)));

        var pods = op.Operate([]).Pods;

        pods.Select(p => p.Template.Container!.Command![1]).ShouldBe(["2", "4", "3"], ignoreOrder: true);
        var nodes = op.Workflow.Status!.Nodes!.Values;
        nodes.Single(n => n.DisplayName == "half(0:e:odd,n:1)").Phase.ShouldBe(NodePhase.Skipped);
        nodes.Single(n => n.DisplayName == "half").Type.ShouldBe(NodeType.TaskGroup);
        nodes.Count(n => n.Phase == NodePhase.Skipped).ShouldBe(3);
    }

    [Fact]
    public async Task Argos_parameter_aggregation_dag_example_divides_the_even_numbers()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", "ArgoWorkflowsRuntime", "parameter-aggregation-dag.yaml")));

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var divided = wf.Status.Nodes!.Values.Where(n => n.DisplayName.StartsWith("divide-by-2(", StringComparison.Ordinal)).ToList();
        divided.Count(n => n.Phase == NodePhase.Skipped).ShouldBe(2);
        divided.Where(n => n.Phase == NodePhase.Succeeded).Select(n => n.Outputs!.Result).ShouldBe(["1", "2"], ignoreOrder: true);
        wf.Status.Nodes.Values.Where(n => n.DisplayName.StartsWith("print(", StringComparison.Ordinal)).Select(n => t.Logs(wf, n).Trim())
            .ShouldBe(["1", "2"], ignoreOrder: true);
    }
}
