using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Server.Hosting;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Controller;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>
/// Outputs of steps and tasks that never ran (Skipped by when, Omitted by depends), by Argo's rules (v4.0.7,
/// docs/variables.md "Outputs of Skipped and Omitted Nodes"): the producer's valueFrom.default, else absent: a
/// pure reference lets the consumer's input default apply, an expression sees nil (so ?? works), and anything
/// else fails the referencing node instead of waiting forever or passing an empty string.
/// </summary>
public sealed class SkippedOutputsTests
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "ArgoWorkflowsRuntime");

    private static WorkflowOperator Operator(string yaml)
    {
        var wf = ManifestReader.Read(yaml).OfType<Workflow>().Single();
        wf.Metadata.Name ??= "wf";
        return new WorkflowOperator(wf, new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)));
    }

    private static WorkflowOperator Example(string file) => Operator(File.ReadAllText(Path.Combine(Fixtures, file)));

    private static NodeStatus Node(WorkflowOperator op, string displayName) =>
        op.Workflow.Status!.Nodes!.Values.Single(n => n.DisplayName == displayName);

    [Fact]
    public void The_producers_output_default_is_the_value_of_a_skipped_output()
    {
        var op = Example("skipped-output-defaults-producer-output-default.yaml");
        var pod = op.Operate([]).Pods.ShouldHaveSingleItem();
        pod.Template.Container!.Args.ShouldBe(["echo", "consumer got: [hello-from-producer]"]);
    }

    [Fact]
    public void A_pure_reference_to_an_absent_output_lets_the_consumers_input_default_apply()
    {
        var op = Example("skipped-output-defaults-consumer-input-default.yaml");
        var pod = op.Operate([]).Pods.ShouldHaveSingleItem();
        pod.Template.Container!.Args.ShouldBe(["echo", "consumer got: [fallback-from-input]"]);
    }

    [Fact]
    public void An_expression_sees_an_absent_output_as_nil()
    {
        var op = Example("skipped-output-defaults-expression-fallback.yaml");
        op.Operate([]).Completed.ShouldBeTrue();
        op.Workflow.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        Node(op, op.Workflow.Name).Outputs!.Parameters.ShouldHaveSingleItem().Value.ShouldBe("expr-fallback");
    }

    private const string Unhandled = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: wf}
        spec:
          entrypoint: main
          templates:
          - name: main
            steps:
            - - {name: producer, template: produce, when: "false"}
            - - name: pure
                template: consume
                continueOn: {error: true}
                arguments: {parameters: [{name: in, value: "{{steps.producer.outputs.parameters.msg}}"}]}
              - name: embedded
                template: consume
                continueOn: {error: true}
                arguments: {parameters: [{name: in, value: "got {{steps.producer.outputs.parameters.msg}}"}]}
              - name: empty-is-not-absent
                template: consume
                arguments: {parameters: [{name: in, value: "{{=steps.producer.outputs.parameters.msg == '' ? 'empty' : 'absent'}}"}]}
          - name: produce
            outputs: {parameters: [{name: msg, valueFrom: {path: /tmp/msg}}]}
            container: {image: x, command: [produce]}
          - name: consume
            inputs: {parameters: [{name: in}]}
            container: {image: x, command: [echo, "{{inputs.parameters.in}}"]}
        """;

    [Fact]
    public void An_unhandled_reference_to_an_absent_output_fails_the_referencing_step_with_the_reason()
    {
        var op = Operator(Unhandled);
        var pod = op.Operate([]).Pods.ShouldHaveSingleItem();

        Node(op, "pure").Phase.ShouldBe(NodePhase.Error);
        Node(op, "pure").Message.ShouldBe("inputs.parameters.in: argument references an absent optional (skipped/omitted node output with no default)");
        Node(op, "embedded").Phase.ShouldBe(NodePhase.Error);
        Node(op, "embedded").Message.ShouldBe("unable to substitute {{steps.producer.outputs.parameters.msg}}: output is an absent optional (skipped/omitted node with no default)");
        pod.Template.Container!.Command.ShouldBe(["echo", "absent"]);
    }

    [Fact]
    public async Task Argos_three_skipped_output_examples_succeed_with_their_fallbacks()
    {
        await using var t = await TestEngine.StartAsync();
        foreach (var (file, expected) in new[]
        {
            ("skipped-output-defaults-producer-output-default.yaml", "consumer got: [hello-from-producer]"),
            ("skipped-output-defaults-consumer-input-default.yaml", "consumer got: [fallback-from-input]"),
            ("skipped-output-defaults-expression-fallback.yaml", null),
        })
        {
            var wf = await t.RunYamlAsync(await File.ReadAllTextAsync(Path.Combine(Fixtures, file)));
            wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, $"{file}: {wf.Status.Message}");
            TestEngine.Node(wf, "producer").Phase.ShouldBe(NodePhase.Skipped);
            if (expected is not null) t.Logs(wf, TestEngine.Node(wf, "consumer")).Trim().ShouldBe(expected);
        }
    }
}
