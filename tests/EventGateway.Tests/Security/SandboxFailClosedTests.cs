using System.Diagnostics;
using EventGateway.Model;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Execution;
using Microsoft.Extensions.Logging;
using Shouldly;

namespace EventGateway.Tests.Security;

/// <summary>Without a working sandbox steps are refused, unless --no-sandbox was given, which warns at every start.</summary>
public sealed class SandboxFailClosedTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("egw-failclosed-");

    public void Dispose() => _dir.Delete(recursive: true);

    private sealed class Captured : ILogger<LocalProcessExecutor>
    {
        public List<(LogLevel Level, string Text)> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, formatter(state, exception)));
    }

    [Fact]
    public async Task With_the_launcher_missing_a_step_is_refused_with_the_reason_and_nothing_runs()
    {
        var marker = Path.Combine(_dir.FullName, "ran");
        var log = new Captured();
        var sandbox = Sandbox.Detect(launcher: "/nonexistent/egw-step");
        sandbox.Isolated.ShouldBeFalse();
        sandbox.Disabled.ShouldBeFalse();
        using var executor = new LocalProcessExecutor(_dir.FullName, 2, sandbox, TimeProvider.System, log);
        var key = new StepKey("default", "wf", "node-1");
        var spec = new StepSpec(key, "busybox", ["/bin/sh", "-c", $"touch {marker}"], null, new Dictionary<string, string>(), [], null);

        var outcome = await executor.RunAsync(spec, () => { }, CancellationToken.None);

        outcome.End.ShouldBe(StepEnd.FailedToStart);
        outcome.Message.ShouldNotBeNull();
        outcome.Message.ShouldContain("the step launcher is missing (/nonexistent/egw-step not found");
        outcome.Message.ShouldContain("--no-sandbox");
        File.Exists(marker).ShouldBeFalse();
        Directory.Exists(Path.Combine(_dir.FullName, "pods", "default", "wf", "node-1")).ShouldBeFalse();
        log.Lines.ShouldContain(l => l.Level == LogLevel.Error && l.Text.Contains("every step will be refused", StringComparison.Ordinal));
    }

    [Fact]
    public void No_sandbox_warns_when_the_executor_starts()
    {
        var log = new Captured();
        using var executor = new LocalProcessExecutor(_dir.FullName, 2, Sandbox.Detect(enabled: false), TimeProvider.System, log);
        log.Lines.ShouldContain(l => l.Level == LogLevel.Warning && l.Text.Contains("--no-sandbox", StringComparison.Ordinal));
    }

    [Fact]
    public void Host_network_warns_when_the_executor_starts()
    {
        var log = new Captured();
        using var executor = new LocalProcessExecutor(_dir.FullName, 2, Sandbox.Detect(network: StepNetwork.Host), TimeProvider.System, log);
        log.Lines.ShouldContain(l => l.Level == LogLevel.Warning && l.Text.Contains("--step-network host", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_script_template_runs_without_the_sandbox_and_writes_nothing_to_the_hosts_root()
    {
        var staged = File.Exists("/argo/staging/script");
        await using var t = await TestEngine.StartAsync(configure: o => o.Sandbox = false);
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: script-}
            spec:
              entrypoint: main
              templates:
              - name: main
                script:
                  image: python
                  command: [sh]
                  source: |
                    echo "hello from $0"
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var node = wf.Status.Nodes!.Values.Single(n => n.Type == NodeType.Pod);
        t.Logs(wf, node).ShouldStartWith("hello from " + t.DataDir);
        File.Exists("/argo/staging/script").ShouldBe(staged);
    }

    [Fact]
    public async Task Egw_run_with_no_sandbox_warns()
    {
        var file = Path.Combine(_dir.FullName, "wf.yaml");
        File.WriteAllText(file, """
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: plain}
            spec:
              entrypoint: main
              templates:
              - name: main
                container: {image: busybox, command: [echo, hi]}
            """);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "egw.dll"), "run", "--no-sandbox", "--quiet", file }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        _ = await stdout;

        p.ExitCode.ShouldBe(0, stderr);
        stderr.ShouldContain("--no-sandbox: steps run as plain host processes");
    }
}
