using System.Diagnostics;
using EventGateway.Tests.Support;
using Shouldly;
using static EventGateway.Tests.Cli.CliTests;

namespace EventGateway.Tests.Cli;

/// <summary>`--executor local|container`, `--container-host` and `egw doctor`, through the `egw` binary and a real Podman.</summary>
public sealed class ExecutorCliTests(PodmanService podman) : IClassFixture<PodmanService>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("egw-executor-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Workflow()
    {
        var path = Path.Combine(_dir, "wf.yaml");
        File.WriteAllText(path, $$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: executor-cli-}
            spec:
              entrypoint: main
              templates:
              - name: main
                container: {image: {{PodmanService.Image}}}
            """);
        return path;
    }

    [Fact]
    public async Task Run_with_the_container_executor_runs_the_steps_image()
    {
        var (code, stdout, stderr) = await Egw("run", Workflow(), "--executor", "container", "--container-host", podman.Host.ToString());

        code.ShouldBe(0, stderr);
        stdout.ShouldContain("Succeeded");
        stderr.ShouldContain("entrypoint: default-cmd"); // the image's own ENTRYPOINT and CMD: no host process could print this
    }

    [Fact]
    public async Task The_local_executor_stays_the_default_and_refuses_an_image_without_command()
    {
        var (code, stdout, _) = await Egw("run", Workflow());

        code.ShouldBe(1);
        stdout.ShouldContain("has no command");
        stdout.ShouldContain("use the container executor (--executor container)");
    }

    [Fact]
    public async Task A_missing_or_unusable_container_socket_is_a_clear_error_before_anything_runs()
    {
        var missing = Path.Combine(_dir, "no.sock");
        var (code, _, stderr) = await Egw("run", Workflow(), "--executor", "container", "--container-host", $"unix://{missing}");
        code.ShouldBe(1);
        stderr.ShouldContain($"no container engine socket at {missing}");

        var notAnEngine = Path.Combine(_dir, "file.sock");
        File.WriteAllText(notAnEngine, "");
        (code, _, stderr) = await Egw("run", Workflow(), "--executor", "container", "--container-host", $"unix://{notAnEngine}");
        code.ShouldBe(1);
        stderr.ShouldContain($"the container engine at unix://{notAnEngine} does not answer");

        (code, _, stderr) = await Egw("run", Workflow(), "--executor", "container", "--container-host", "podman");
        code.ShouldBe(2);
        stderr.ShouldContain("--container-host 'podman' is not a container engine address");

        (code, _, stderr) = await Egw("serve", "--executor", "container", "--container-host", $"unix://{missing}", "--data-dir", Path.Combine(_dir, "data"), "--port", "1");
        code.ShouldBe(1);
        stderr.ShouldContain($"no container engine socket at {missing}");
    }

    [Fact]
    public async Task Doctor_says_in_one_line_per_executor_whether_it_is_usable_and_why_not()
    {
        var (code, stdout, stderr) = await Egw("doctor", "--container-host", podman.Host.ToString());
        code.ShouldBe(0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(2, stdout);
        lines[0].ShouldStartWith("local: usable");
        lines[1].ShouldStartWith("container: usable (Podman Engine 4.");
        lines[1].ShouldContain(podman.Host.ToString());

        var missing = Path.Combine(_dir, "no.sock");
        (_, stdout, _) = await Egw("doctor", "--container-host", $"unix://{missing}");
        stdout.ShouldContain($"container: not usable: no container engine socket at {missing}");
    }

    [Fact]
    public async Task Doctor_says_when_the_engine_answers_but_its_runtime_refuses_to_start_containers()
    {
        // A real Podman API whose OCI runtime fails every start (as crun does on this kernel's cgroup layout).
        var socket = Path.Combine(_dir, "broken.sock");
        using var service = Process.Start(new ProcessStartInfo("podman", ["--runtime", "/bin/false", "system", "service", "--time=0", $"unix://{socket}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            await Eventually.Get(() => Task.FromResult(File.Exists(socket) ? "up" : null), "the broken podman's socket", TimeSpan.FromSeconds(60));
            var (code, stdout, stderr) = await Egw("doctor", "--container-host", $"unix://{socket}");
            var line = stdout.Split('\n').Single(l => l.StartsWith("container:", StringComparison.Ordinal));
            line.ShouldStartWith("container: not usable: Podman Engine 4.", customMessage: stderr);
            line.ShouldContain("answers but does not start containers: ");
            using var ps = Process.Start(new ProcessStartInfo("podman", ["ps", "-a", "--format", "{{.Names}}"]) { RedirectStandardOutput = true })!;
            (await ps.StandardOutput.ReadToEndAsync()).Split('\n').ShouldNotContain(n => n.StartsWith("egw-doctor-", StringComparison.Ordinal), "the test container is removed");
        }
        finally
        {
            service.Kill(entireProcessTree: true);
            await service.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Help_says_what_each_executor_does()
    {
        foreach (var command in new[] { "run", "serve" })
        {
            var (_, stdout, _) = await Egw(command, "--help");
            stdout.ShouldContain("--executor");
            stdout.ShouldContain("sandboxed process on this host");
            stdout.ShouldContain("runs in its image");
            stdout.ShouldContain("--container-host");
        }
    }
}
