using EventGateway.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Controls;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>Exit handlers (spec.onExit, hooks.exit, step onExit) with retries, phases and shutdowns, through the real engine.</summary>
public sealed class ExitHandlerTests
{
    private static NodeStatus Exit(Workflow wf) => wf.Status!.Nodes!.Values.Single(n => n.Name == $"{wf.Name}.onExit");

    [Fact]
    public async Task An_exit_handler_retried_to_success_keeps_the_workflow_phase()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: exit-retry-}
            spec:
              entrypoint: main
              onExit: notify
              templates:
              - name: main
                container: {image: busybox, command: [sh, -c, "echo work"]}
              - name: notify
                retryStrategy: {limit: 2, retryPolicy: Always}
                container: {image: busybox, command: [sh, -c, "echo 'attempt {{retries}} status {{workflow.status}}'; [ {{retries}} -ge 1 ]"]}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var exit = Exit(wf);
        (exit.Type, exit.Phase).ShouldBe((NodeType.Retry, NodePhase.Succeeded));
        exit.Children!.Count.ShouldBe(2);
        var first = wf.Status.Nodes![exit.Children[0]];
        first.Phase.ShouldBe(NodePhase.Failed);
        t.Logs(wf, first).ShouldContain("attempt 0 status Succeeded");
        t.Logs(wf, wf.Status.Nodes[exit.Children[1]]).ShouldContain("attempt 1 status Succeeded");
    }

    [Fact]
    public async Task An_exit_handler_that_finally_fails_fails_a_succeeded_workflow_and_one_that_errors_errors_it()
    {
        await using var t = await TestEngine.StartAsync();
        var failed = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: exit-fails-}
            spec:
              entrypoint: main
              onExit: notify
              templates:
              - name: main
                container: {image: busybox, command: [sh, -c, "echo work"]}
              - name: notify
                retryStrategy: {limit: 1}
                container: {image: busybox, command: [sh, -c, "echo dns timeout >&2; exit 6"]}
            """);
        failed.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        failed.Status.Message.ShouldNotBeNull().ShouldStartWith("exit handler failed: ");
        failed.Status.Message.ShouldContain("exit code 6");
        Exit(failed).Children!.Count.ShouldBe(2, "the retry strategy was used up first");
        TestEngine.Node(failed, failed.Name).Phase.ShouldBe(NodePhase.Succeeded, "the main work itself succeeded");

        var errored = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: exit-errors-}
            spec:
              entrypoint: main
              hooks:
                exit: {template: notify}
              templates:
              - name: main
                container: {image: busybox, command: [sh, -c, "echo work"]}
              - name: notify
                container: {image: busybox, command: [sh, -c, "echo {{workflow.parameters.channel}}"]}
            """);
        errored.Status!.Phase.ShouldBe(WorkflowPhase.Error, errored.Status.Message);
        Exit(errored).Phase.ShouldBe(NodePhase.Error);
        errored.Status.Message.ShouldBe("exit handler failed: failed to resolve {{workflow.parameters.channel}}");
    }

    [Fact]
    public async Task The_exit_hook_reports_the_workflow_status_and_failures_through_its_arguments()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: exit-args-}
            spec:
              entrypoint: main
              hooks:
                exit:
                  template: report
                  arguments: {parameters: [{name: status, value: "{{workflow.status}}"}, {name: failures, value: "{{workflow.failures}}"}]}
              templates:
              - name: main
                steps:
                - - {name: broken, template: broken}
              - name: broken
                container: {image: busybox, command: [sh, -c, "exit 9"]}
              - name: report
                inputs: {parameters: [{name: status}, {name: failures}]}
                container: {image: busybox, command: [sh, -c, "echo 'status={{inputs.parameters.status}}'; echo '{{inputs.parameters.failures}}'"]}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        var log = t.Logs(wf, Exit(wf));
        log.ShouldContain("status=Failed");
        log.ShouldContain("\"displayName\":\"broken\"");
        log.ShouldContain("exit code 9");
    }

    private const string Gated = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {generateName: gated-}
        spec:
          entrypoint: main
          onExit: final
          templates:
          - name: main
            steps:
            - - name: gate
                template: wait
                hooks:
                  exit: {template: note}
                  stopped: {template: note, expression: steps.gate.status == "Failed"}
            - - {name: after, template: note}
          - name: wait
            suspend: {}
          - name: note
            container: {image: busybox, command: [sh, -c, "echo note"]}
          - name: final
            container: {image: busybox, command: [sh, -c, "echo final {{workflow.status}}"]}
        """;

    private static async Task<Workflow> StartGated(TestEngine t)
    {
        var wf = await t.Engine.SubmitAsync(ManifestReader.Read(Gated, "gated.yaml").OfType<Workflow>().Single(), []);
        await Eventually.Get(async () => await t.Engine.Store.GetAsync<Workflow>(wf.NamespaceOrDefault, wf.Name) is { } w
            && w.Status?.Nodes?.Values.Any(n => n.DisplayName == "gate" && n.Phase == NodePhase.Running) == true ? w : null, "the gate to wait");
        return wf;
    }

    private static async Task<Workflow> WaitAsync(TestEngine t, Workflow wf)
    {
        using var cts = new CancellationTokenSource(TestEngine.Patience);
        return await t.Engine.WaitAsync(wf, cts.Token);
    }

    [Fact]
    public async Task Stop_runs_the_exit_handlers_of_the_workflow_and_its_steps_but_starts_no_other_hook()
    {
        await using var t = await TestEngine.StartAsync();
        var ops = new WorkflowControls(t.Engine.Store, TimeProvider.System);
        var wf = await StartGated(t);
        await ops.StopAsync(wf.NamespaceOrDefault, wf.Name, "enough");
        var done = await WaitAsync(t, wf);

        (done.Status!.Phase, done.Status.Message).ShouldBe((WorkflowPhase.Failed, "Stopped with strategy 'Stop'"));
        TestEngine.Node(done, "gate").Phase.ShouldBe(NodePhase.Failed);
        TestEngine.Node(done, "gate.onExit").Phase.ShouldBe(NodePhase.Succeeded);
        t.Logs(done, Exit(done)).ShouldContain("final Failed");
        done.Status.Nodes!.Values.ShouldNotContain(n => n.DisplayName == "after" || n.Name.EndsWith(".hooks.stopped", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Terminate_runs_no_exit_handler_and_no_hook()
    {
        await using var t = await TestEngine.StartAsync();
        var ops = new WorkflowControls(t.Engine.Store, TimeProvider.System);
        var wf = await StartGated(t);
        await ops.TerminateAsync(wf.NamespaceOrDefault, wf.Name);
        var done = await WaitAsync(t, wf);

        (done.Status!.Phase, done.Status.Message).ShouldBe((WorkflowPhase.Failed, "Stopped with strategy 'Terminate'"));
        TestEngine.Node(done, "gate").Phase.ShouldBe(NodePhase.Failed);
        done.Status.Nodes!.Values.ShouldNotContain(n => n.Name.Contains(".onExit", StringComparison.Ordinal) || n.Name.Contains(".hooks.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stop_during_a_retry_backoff_ends_the_workflow_without_waiting_for_the_clock_and_runs_the_exit_handler()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero));
        await using var t = await TestEngine.StartAsync(time: time);
        var wf = await t.Engine.SubmitAsync(ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: backing-off}
            spec:
              entrypoint: main
              onExit: final
              templates:
              - name: main
                retryStrategy: {limit: 5, backoff: {duration: "1h"}}
                container: {image: busybox, command: [sh, -c, "exit 1"]}
              - name: final
                container: {image: busybox, command: [sh, -c, "echo final {{workflow.status}}"]}
            """, "backoff.yaml").OfType<Workflow>().Single(), []);
        await Eventually.Get(async () => await t.Engine.Store.GetAsync<Workflow>(wf.NamespaceOrDefault, wf.Name) is { } w
            && w.Status?.Nodes?.Values.Any(n => n.Message == "Backoff for 3600s") == true ? w : null, "the retry to back off",
            eachPoll: () => time.Advance(TimeSpan.FromMilliseconds(300)));

        await new WorkflowControls(t.Engine.Store, time).StopAsync(wf.NamespaceOrDefault, wf.Name, null);
        var done = await WaitAsync(t, wf);
        (done.Status!.Phase, done.Status.Message).ShouldBe((WorkflowPhase.Failed, "Stopped with strategy 'Stop'"));
        TestEngine.Node(done, wf.Name).Children!.Count.ShouldBe(1, "no attempt starts once stopped");
        t.Logs(done, Exit(done)).ShouldContain("final Failed");
    }
}
