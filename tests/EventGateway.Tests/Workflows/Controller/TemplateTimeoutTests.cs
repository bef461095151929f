using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Controller;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>
/// spec.templateDefaults merged into every template, and a pod template's <c>timeout</c> (from the node's start,
/// Pending time included), as Argo's operator applies them; time is a fake clock, never a sleep.
/// </summary>
public sealed class TemplateTimeoutTests
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static (WorkflowOperator Op, FakeTimeProvider Time) Operator(string spec)
    {
        var wf = ManifestReader.Read($"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {"{name: wf}"}
            {spec}
            """).OfType<Workflow>().Single();
        var time = new FakeTimeProvider(Epoch);
        return (new WorkflowOperator(wf, time), time);
    }

    private static PodResult Running(PodRequest pod, DateTimeOffset at) => new(pod.NodeId, NodePhase.Running, null, null, null, at, at);

    private static PodResult Exited(PodRequest pod, DateTimeOffset at, int code) =>
        new(pod.NodeId, code == 0 ? NodePhase.Succeeded : NodePhase.Failed, code == 0 ? null : $"Error (exit code {code})", code, new Outputs { ExitCode = $"{code}" }, at, at);

    private static NodeStatus Node(WorkflowOperator op, string name) => op.Workflow.Status!.Nodes!.Values.Single(n => n.Name == name);

    [Fact]
    public void A_steps_timeout_is_the_deadline_its_process_starts_with_counted_from_the_nodes_start()
    {
        var (op, time) = Operator("""
            spec:
              entrypoint: main
              templates:
              - name: main
                steps: [[{name: s, template: sleep, arguments: {parameters: [{name: t, value: 30s}]}}], [{name: d, template: both}]]
              - name: sleep
                timeout: "{{inputs.parameters.t}}"
                inputs: {parameters: [{name: t}]}
                container: {image: x, command: [sleep, "300"]}
              - name: both
                timeout: 1m
                activeDeadlineSeconds: 20
                container: {image: x, command: [sleep, "300"]}
            """);
        var first = op.Operate([]);
        var pod = first.Pods.ShouldHaveSingleItem();
        pod.ActiveDeadline.ShouldBe(TimeSpan.FromSeconds(30));
        first.RequeueAt.ShouldBe(Epoch + TimeSpan.FromSeconds(30)); // checked again then, in case it is still Pending

        time.Advance(TimeSpan.FromSeconds(5));
        op.Operate([Running(pod, time.GetUtcNow())]).PodsToKill.ShouldBeEmpty();
        time.Advance(TimeSpan.FromSeconds(40)); // a started process is the executor's to stop at its deadline
        op.Operate([]).PodsToKill.ShouldBeEmpty();
        Node(op, pod.NodeName).Phase.ShouldBe(NodePhase.Running);

        var next = op.Operate([Exited(pod, time.GetUtcNow(), 0)]).Pods.ShouldHaveSingleItem();
        next.ActiveDeadline.ShouldBe(TimeSpan.FromSeconds(20)); // the nearer of timeout and activeDeadlineSeconds
    }

    [Fact]
    public void A_step_still_pending_at_its_timeout_fails_with_argos_timeout_and_never_starts()
    {
        var (op, time) = Operator("""
            spec:
              entrypoint: main
              parallelism: 1
              templates:
              - name: main
                timeout: 10s
                container: {image: x, command: [sleep, "300"]}
            """);
        var pod = op.Operate([]).Pods.ShouldHaveSingleItem();
        time.Advance(TimeSpan.FromSeconds(11));
        var late = op.Operate([]);

        late.PodsToKill.ShouldBe([pod.NodeId]); // handed over in an earlier pass: the controller stops whatever got started
        Node(op, "wf").Message.ShouldBe("timeout");
        Node(op, "wf").Phase.ShouldBe(NodePhase.Failed);
    }

    [Fact]
    public void A_timeout_that_renders_to_no_duration_is_an_Error_naming_it_and_a_literal_one_is_refused_at_load()
    {
        var (op, _) = Operator("""
            spec:
              entrypoint: main
              arguments: {parameters: [{name: t, value: soon}]}
              templates:
              - name: main
                timeout: "{{workflow.parameters.t}}"
                container: {image: x, command: [true]}
            """);
        op.Operate([]).Pods.ShouldBeEmpty();
        Node(op, "wf").Phase.ShouldBe(NodePhase.Error);
        Node(op, "wf").Message.ShouldBe("invalid timeout format: 'soon' is not a duration like 30s, 5m or 1h");

        var refused = Should.Throw<ManifestException>(() => Operator("""
            spec:
              entrypoint: main
              templateDefaults: {timeout: 5 minutes}
              templates:
              - {name: main, timeout: 1x, container: {image: x, command: [true]}}
            """));
        refused.Errors.Select(e => (e.Path, e.Reason)).ShouldBe([
            ("spec.templateDefaults.timeout", "'5 minutes' is not a duration like 30s, 5m or 1h"),
            ("spec.templates[0].timeout", "'1x' is not a duration like 30s, 5m or 1h"),
        ], ignoreOrder: true);
    }

    [Fact]
    public void Template_defaults_apply_to_every_template_and_the_templates_own_fields_win()
    {
        var (op, time) = Operator("""
            spec:
              entrypoint: main
              templateDefaults:
                timeout: 30s
                retryStrategy: {limit: "2"}
                container:
                  image: default-image
                  env: [{name: A, value: from-defaults}, {name: B, value: from-defaults}]
                script: {image: not-for-containers}
              templates:
              - name: main
                retryStrategy: {limit: "0"}
                steps: [[{name: a, template: a}]]
              - name: a
                timeout: 20s
                container:
                  command: [sh, -c, exit 1]
                  env: [{name: B, value: own}]
            """);
        var first = op.Operate([]).Pods.ShouldHaveSingleItem();
        first.NodeName.ShouldBe("wf(0)[0].a(0)");
        first.Template.Container!.Image.ShouldBe("default-image");
        first.Template.Container.Env!.Select(e => $"{e.Name}={e.Value}").ShouldBe(["B=own", "A=from-defaults"], ignoreOrder: true);
        first.Template.Script.ShouldBeNull();
        first.ActiveDeadline.ShouldBe(TimeSpan.FromSeconds(20)); // its own timeout, not the defaults' 30s

        // retryStrategy from the defaults (limit 2): the failed step runs three times...
        var second = op.Operate([Exited(first, time.GetUtcNow(), 1)]).Pods.ShouldHaveSingleItem();
        second.NodeName.ShouldBe("wf(0)[0].a(1)");
        var third = op.Operate([Exited(second, time.GetUtcNow(), 1)]).Pods.ShouldHaveSingleItem();
        third.NodeName.ShouldBe("wf(0)[0].a(2)");
        op.Operate([Exited(third, time.GetUtcNow(), 1)]).Completed.ShouldBeTrue();
        // ...while the steps template's own retryStrategy (limit 0) wins over the default: it ran once.
        op.Workflow.Status!.Nodes!.Values.Count(n => n.Type == NodeType.Steps).ShouldBe(1);
        op.Workflow.Status.Phase.ShouldBe(WorkflowPhase.Failed);
    }

    /// <summary>Argo's template-defaults.yaml: every template, the steps one included, gets the retryStrategy and the timeout.</summary>
    [Fact]
    public void Argos_template_defaults_example_retries_and_bounds_every_template()
    {
        var wf = ManifestReader.Read(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "ArgoWorkflowsRuntime", "template-defaults.yaml")))
            .OfType<Workflow>().Single();
        wf.Metadata.Name = "wf";
        var time = new FakeTimeProvider(Epoch);
        var op = new WorkflowOperator(wf, time);

        var pod = op.Operate([]).Pods.ShouldHaveSingleItem();
        pod.NodeName.ShouldBe("wf(0)[0].retry-backoff(0)"); // a Retry node for main, and one for its step
        pod.ActiveDeadline.ShouldBe(TimeSpan.FromSeconds(30));
        Node(op, "wf").Type.ShouldBe(NodeType.Retry);
        op.Operate([Exited(pod, time.GetUtcNow(), 1)]).Pods.ShouldHaveSingleItem().NodeName.ShouldBe("wf(0)[0].retry-backoff(1)");
    }

    /// <summary>A real step process is stopped at its template timeout (Argo's dag-task-level-timeout example, on a fake clock).</summary>
    [Fact]
    public async Task A_dag_tasks_timeout_stops_its_process_and_fails_the_workflow()
    {
        var time = new FakeTimeProvider(Epoch);
        await using var t = await TestEngine.StartAsync(time: time);
        var submitted = await t.Engine.SubmitAsync(ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: dag-timeout}
            spec:
              entrypoint: diamond
              templates:
              - name: diamond
                dag:
                  tasks:
                  - {name: B, template: sleep, arguments: {parameters: [{name: timeout, value: "10s"}]}}
              - name: sleep
                timeout: "{{inputs.parameters.timeout}}"
                inputs: {parameters: [{name: timeout}]}
                container: {image: busybox, command: [sh, -c, "echo started; sleep 300"]}
            """).OfType<Workflow>().Single());
        var run = t.Engine.WaitAsync(submitted, new CancellationTokenSource(TestEngine.Patience).Token);
        await Eventually.Get(() => Task.FromResult(Directory.Exists(Path.Combine(t.DataDir, "pods"))
            && Directory.GetFiles(Path.Combine(t.DataDir, "pods"), "stdout", SearchOption.AllDirectories).Any(f => File.ReadAllText(f).Contains("started", StringComparison.Ordinal)) ? "started" : null), "the step to start");

        time.Advance(TimeSpan.FromSeconds(9));
        run.IsCompleted.ShouldBeFalse();
        time.Advance(TimeSpan.FromSeconds(2));
        var wf = await run;

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        TestEngine.Node(wf, "B").Message.ShouldBe("Step exceeded its deadline");
    }
}
