using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Controller;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>One reconcile pass at a time, with pod outcomes fed in by hand: deterministic operator semantics.</summary>
public sealed class OperatorTests
{
    private static (WorkflowOperator Op, FakeTimeProvider Time) Operator(string yaml)
    {
        var wf = ManifestReader.Read(yaml).OfType<Workflow>().Single();
        wf.Metadata.Name ??= "wf";
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        return (new WorkflowOperator(wf, time), time);
    }

    private static PodResult Done(WorkflowOperator op, PodRequest pod, string phase = NodePhase.Succeeded, params (string Name, string Value)[] outputs)
    {
        var now = op.Workflow.Status!.StartedAt!.Value;
        return new PodResult(pod.NodeId, phase, phase == NodePhase.Succeeded ? null : "Error (exit code 1)", phase == NodePhase.Succeeded ? 0 : 1,
            new Outputs { Parameters = [.. outputs.Select(o => new Parameter { Name = o.Name, Value = o.Value })], ExitCode = phase == NodePhase.Succeeded ? "0" : "1" }, now, now);
    }

    [Fact]
    public void A_task_sees_the_outputs_of_a_retried_dependency_that_completed_in_the_same_pass()
    {
        var (op, _) = Operator("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: wf}
            spec:
              entrypoint: main
              templates:
              - name: main
                dag:
                  tasks:
                  - {name: a, template: produce}
                  - name: b
                    depends: a
                    template: consume
                    arguments: {parameters: [{name: v, value: "{{tasks.a.outputs.parameters.p}}"}]}
              - name: produce
                retryStrategy: {limit: 1}
                container: {image: x, command: [produce]}
                outputs: {parameters: [{name: p, valueFrom: {path: /tmp/p}}]}
              - name: consume
                inputs: {parameters: [{name: v}]}
                container: {image: x, command: [consume, "{{inputs.parameters.v}}"]}
            """);
        var first = op.Operate([]);
        var a0 = first.Pods.ShouldHaveSingleItem();
        a0.NodeName.ShouldBe("wf.a(0)");

        var second = op.Operate([Done(op, a0, outputs: ("p", "42"))]);
        var b = second.Pods.ShouldHaveSingleItem();
        b.NodeName.ShouldBe("wf.b");
        b.Template.Container!.Command.ShouldBe(["consume", "42"]);
    }

    [Fact]
    public void A_failed_dependency_omits_its_dependents_and_fails_the_dag()
    {
        var (op, _) = Operator("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: wf}
            spec:
              entrypoint: main
              templates:
              - name: main
                dag:
                  tasks:
                  - {name: a, template: t}
                  - {name: b, template: t, dependencies: [a]}
                  - {name: c, template: t, depends: "b || a.Failed"}
              - name: t
                container: {image: x, command: [t]}
            """);
        var a = op.Operate([]).Pods.ShouldHaveSingleItem();
        var next = op.Operate([Done(op, a, NodePhase.Failed)]);
        // c runs because a failed; b can never run.
        next.Pods.ShouldHaveSingleItem().NodeName.ShouldBe("wf.c");
        op.Workflow.Status!.Nodes!.Values.Single(n => n.DisplayName == "b").Phase.ShouldBe(NodePhase.Omitted);
        var end = op.Operate([Done(op, next.Pods[0])]);
        end.Completed.ShouldBeTrue();
        // a's failure is handled by c's "a.Failed", so the workflow succeeds.
        op.Workflow.Status.Phase.ShouldBe(WorkflowPhase.Succeeded);
    }

    [Fact]
    public void Parallelism_limits_how_many_pods_are_requested_per_pass()
    {
        var (op, _) = Operator("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: wf}
            spec:
              entrypoint: main
              parallelism: 2
              templates:
              - name: main
                steps:
                - - name: s
                    template: t
                    withItems: [a, b, c, d, e]
                    arguments: {parameters: [{name: v, value: "{{item}}"}]}
              - name: t
                inputs: {parameters: [{name: v}]}
                container: {image: x, command: [echo, "{{inputs.parameters.v}}"]}
            """);
        var started = new List<PodRequest>();
        var pass = op.Operate([]);
        while (!pass.Completed)
        {
            pass.Pods.Count.ShouldBeLessThanOrEqualTo(2);
            op.Workflow.Status!.Nodes!.Values.Count(n => n.Type == NodeType.Pod && !n.Fulfilled).ShouldBeLessThanOrEqualTo(2);
            started.AddRange(pass.Pods);
            pass = op.Operate(pass.Pods.Select(p => Done(op, p)).ToList());
        }
        started.Select(p => p.Template.Container!.Command![1]).ShouldBe(["a", "b", "c", "d", "e"]);
        op.Workflow.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
    }

    [Fact]
    public void An_unresolvable_variable_is_an_Error_node_naming_it()
    {
        var (op, _) = Operator("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: wf}
            spec:
              entrypoint: main
              templates:
              - name: main
                container: {image: x, command: [echo, "{{workflow.parameters.missing}}"]}
            """);
        var pass = op.Operate([]);
        pass.Pods.ShouldBeEmpty();
        pass.Completed.ShouldBeTrue();
        op.Workflow.Status!.Phase.ShouldBe(WorkflowPhase.Error);
        op.Workflow.Status.Nodes!["wf"].Message.ShouldBe("failed to resolve {{workflow.parameters.missing}}");
    }
}
