using System.Diagnostics;
using System.Net.Http.Json;
using EventGateway.Tests.Support;
using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Tests.Server.Api;

/// <summary>kill -9 of the service mid-workflow: after a restart every workflow continues or ends truthfully.</summary>
public sealed class CrashRecoveryTests
{
    private const string TwoSteps = """
        {"workflow": {
          "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
          "metadata": {"name": "NAME"},
          "spec": {"entrypoint": "main", "templates": [
            {"name": "main", "steps": [[{"name": "first", "template": "first"}], [{"name": "second", "template": "second"}]]},
            {"name": "first", "container": {"image": "busybox", "command": ["sh", "-c",
              "echo run >> /state/runs 2>/dev/null || { mkdir -p /state; echo run >> /state/runs; }; echo runs=$(wc -l < /state/runs); echo started; sleep 6; echo first-done"]}},
            {"name": "second", "container": {"image": "busybox", "command": ["echo", "second-done"]}}
          ]}}}
        """;

    private static async Task<Workflow?> Get(HttpClient http, string name) =>
        await http.GetFromJsonAsync<Workflow>($"api/v1/workflows/default/{name}", Json.Lenient);

    private static async Task<NodeStatus> RunningStep(HttpClient http, string name, string step) =>
        await Eventually.Get(async () => (await Get(http, name))?.Status?.Nodes?.Values.FirstOrDefault(n => n.DisplayName == step && n.Phase == NodePhase.Running),
            $"step {step} of {name} running");

    private static async Task<string> Log(HttpClient http, string name) =>
        await http.GetStringAsync($"api/v1/workflows/default/{name}/log");

    [Fact]
    public async Task A_step_running_during_a_crash_is_adopted_not_rerun()
    {
        await using var serve = await ServeProcess.StartAsync();
        using var http = serve.CreateClient();
        (await http.PostAsync("api/v1/workflows/default", new StringContent(TwoSteps.Replace("NAME", "survivor"), System.Text.Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        await RunningStep(http, "survivor", "first");
        await Eventually.Get(async () => (await Log(http, "survivor")).Contains("started", StringComparison.Ordinal) ? "yes" : null, "the first step to print");

        serve.KillHard();
        await serve.RestartAsync();

        var done = await Eventually.Get(async () => await Get(http, "survivor") is { Status.IsCompleted: true } w ? w : null, "the workflow to complete after restart");
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, done.Status.Message);
        var log = await Log(http, "survivor");
        log.ShouldContain("runs=1");
        log.ShouldNotContain("runs=2");
        log.ShouldContain("first-done");
        log.ShouldContain("second-done");
    }

    [Fact]
    public async Task A_step_lost_with_the_service_ends_in_Error_saying_so()
    {
        await using var serve = await ServeProcess.StartAsync();
        using var http = serve.CreateClient();
        (await http.PostAsync("api/v1/workflows/default", new StringContent(TwoSteps.Replace("NAME", "casualty"), System.Text.Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        var step = await RunningStep(http, "casualty", "first");
        var pidFile = Path.Combine(serve.DataDir, "pods", "default", "casualty", step.Id, "pid");
        await Eventually.Get(() => Task.FromResult(File.Exists(pidFile) ? "yes" : null), "the step's process to be recorded");

        serve.KillHard();
        // The machine "loses" the step too: kill its whole process group while the service is down.
        var pid = File.ReadAllText(pidFile).Trim();
        using (var kill = Process.Start("kill", ["-9", "--", "-" + pid])) await kill.WaitForExitAsync();
        await serve.RestartAsync();

        var done = await Eventually.Get(async () => await Get(http, "casualty") is { Status.IsCompleted: true } w ? w : null, "the workflow to end after restart");
        done.Status!.Phase.ShouldBe(WorkflowPhase.Failed, string.Join("; ", done.Status.Nodes!.Values.Select(n => $"{n.DisplayName}={n.Phase}:{n.Message}")));
        var first = done.Status.Nodes!.Values.Single(n => n.DisplayName == "first");
        first.Phase.ShouldBe(NodePhase.Error);
        first.Message!.ShouldContain("lost");
        done.Status.Nodes.Values.ShouldNotContain(n => n.DisplayName == "second");
        done.Status.Nodes.Values.ShouldAllBe(n => NodePhase.IsFulfilled(n.Phase));
    }
}
