using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Server.Hosting;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Controller;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>
/// An expression that cannot be evaluated fails the node it belongs to, with the reason, in the pass that meets it:
/// a reconcile pass is deterministic, so an exception escaping it would recur on every pass and the workflow would
/// never end (Argo's examples/expression-destructure-json-complex.yaml did exactly that).
/// </summary>
public sealed class ExpressionFailureTests
{
    private static WorkflowOperator Operator(string templates)
    {
        var wf = ManifestReader.Read($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: wf}
            spec:
              entrypoint: main
              templates:
            {{templates}}
            """).OfType<Workflow>().Single();
        return new WorkflowOperator(wf, new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)));
    }

    private static NodeStatus Node(WorkflowOperator op, string displayName) =>
        op.Workflow.Status!.Nodes!.Values.Single(n => n.DisplayName == displayName);

    [Fact]
    public void A_bad_expression_in_an_input_default_fails_that_node_and_ends_the_workflow_in_one_pass()
    {
        var op = Operator("""
              - name: main
                inputs:
                  parameters: [{name: a, value: "{{=asInt('forty')}}"}]
                container: {image: x, command: [echo, "{{inputs.parameters.a}}"]}
            """);
        var result = op.Operate([]);

        result.Completed.ShouldBeTrue();
        result.Pods.ShouldBeEmpty();
        var node = Node(op, "wf");
        node.Phase.ShouldBe(NodePhase.Error);
        node.Message.ShouldBe("asInt: cannot parse 'forty' as int at position 0 in expression 'asInt('forty')'");
        op.Workflow.Status!.Phase.ShouldBe(WorkflowPhase.Error);
    }

    [Fact]
    public void A_bad_expression_in_a_steps_argument_fails_that_step_only_and_continueOn_sees_it()
    {
        var op = Operator("""
              - name: main
                steps:
                - - name: bad
                    template: echo
                    continueOn: {error: true}
                    arguments: {parameters: [{name: v, value: "{{=jsonpath('{}', 'no-dollar')}}"}]}
                  - name: good
                    template: echo
                    arguments: {parameters: [{name: v, value: "{{=1 + 1}}"}]}
              - name: echo
                inputs: {parameters: [{name: v}]}
                container: {image: x, command: [echo, "{{inputs.parameters.v}}"]}
            """);
        var result = op.Operate([]);

        Node(op, "bad").Phase.ShouldBe(NodePhase.Error);
        Node(op, "bad").Message!.ShouldContain("jsonpath 'no-dollar' must start with '$'");
        result.Pods.ShouldHaveSingleItem().Template.Container!.Command.ShouldBe(["echo", "2"]);
        result.Completed.ShouldBeFalse();
    }

    [Fact]
    public void A_bad_expression_in_a_when_a_withParam_or_a_task_argument_fails_that_task()
    {
        var op = Operator("""
              - name: main
                dag:
                  failFast: false
                  tasks:
                  - {name: guard, template: echo, when: "{{=nope(1)}}", arguments: {parameters: [{name: v, value: x}]}}
                  - {name: loop, template: echo, withParam: "{{=toJson(1 / 'a')}}", arguments: {parameters: [{name: v, value: "{{item}}"}]}}
                  - {name: arg, template: echo, arguments: {parameters: [{name: v, value: "{{=sprig.nosuch()}}"}]}}
              - name: echo
                inputs: {parameters: [{name: v}]}
                container: {image: x, command: [echo, "{{inputs.parameters.v}}"]}
            """);
        var result = op.Operate([]);

        result.Completed.ShouldBeTrue();
        foreach (var task in new[] { "guard", "loop", "arg" })
        {
            Node(op, task).Phase.ShouldBe(NodePhase.Error, task);
            Node(op, task).Message!.ShouldContain("expression", Case.Insensitive, task);
        }
        Node(op, "wf").Phase.ShouldBe(NodePhase.Failed);
    }

    [Fact]
    public void A_pass_after_the_failure_changes_nothing()
    {
        var op = Operator("""
              - name: main
                container: {image: x, command: [echo, "{{=jsonpath('[1]', '$[?(@ >)]')}}"]}
            """);
        op.Operate([]).Completed.ShouldBeTrue();
        var message = Node(op, "wf").Message;
        message.ShouldNotBeNull().ShouldContain("missing operand");

        op.Operate([]).Completed.ShouldBeTrue();
        Node(op, "wf").Message.ShouldBe(message);
    }

    /// <summary>Argo's example, unchanged: its jsonpath filters are valid in Argo's expr environment and now here.</summary>
    [Fact]
    public async Task Argos_expression_destructure_json_complex_example_succeeds_with_the_filtered_values()
    {
        await using var t = await TestEngine.StartAsync();
        var yaml = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", "ArgoWorkflowsRuntime", "expression-destructure-json-complex.yaml"));
        var wf = await t.RunYamlAsync(yaml);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        t.Logs(wf, TestEngine.Node(wf, wf.Name)).Trim()
            .ShouldBe("""[43][43][{"age":43,"name":"Baris"}]["Baris","Mo","Jai"]""");
    }
}
