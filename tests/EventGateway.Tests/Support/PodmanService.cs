using System.Diagnostics;

namespace EventGateway.Tests.Support;

/// <summary>
/// Podman's Docker-compatible API on a fresh unix socket, served by a `podman system service` this fixture starts and
/// ends, with a test image imported from a busybox-static root filesystem (no registry is reachable here). runc, not
/// crun: crun refuses this kernel's hybrid cgroup layout. Missing tools fail the fixture with what to install.
/// </summary>
public sealed class PodmanService : IAsyncLifetime
{
    /// <summary>An argosay-like image: ENTRYPOINT echoes, CMD is its default argument.</summary>
    public const string Image = "egw-test/entrypoint:1";

    private readonly string _dir = Directory.CreateTempSubdirectory("egw-podman-").FullName;
    private Process? _service;

    public Uri Host => new($"unix://{Socket}");
    private string Socket => Path.Combine(_dir, "podman.sock");

    public async Task InitializeAsync()
    {
        foreach (var (tool, package) in new[] { ("podman", "podman"), ("runc", "runc"), ("busybox", "busybox-static") })
            if (Which(tool) is null) throw new InvalidOperationException($"the container executor tests need {tool}: apt-get install -y podman runc busybox-static");
        var busybox = Which("busybox")!;

        // The root filesystem: busybox and a link per applet, so the image's sh, echo and the rest exist.
        var rootfs = Path.Combine(_dir, "rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "bin"));
        Directory.CreateDirectory(Path.Combine(rootfs, "tmp"));
        Directory.CreateDirectory(Path.Combine(rootfs, "etc"));
        File.Copy(busybox, Path.Combine(rootfs, "bin", "busybox"));
        var applets = (await RunAsync(busybox, ["--list"])).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var applet in applets.Where(a => a != "busybox"))
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        File.WriteAllText(Path.Combine(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        File.WriteAllText(Path.Combine(rootfs, "etc", "group"), "root:x:0:\n");
        var tar = Path.Combine(_dir, "rootfs.tar");
        await RunAsync("tar", ["-C", rootfs, "-cf", tar, "."]);
        await RunAsync("podman", ["--runtime", "runc", "import",
            "--change", "ENTRYPOINT [\"/bin/echo\", \"entrypoint:\"]", "--change", "CMD [\"default-cmd\"]", tar, Image]);

        _service = Process.Start(new ProcessStartInfo("podman", ["--runtime", "runc", "system", "service", "--time=0", $"unix://{Socket}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        _service.OutputDataReceived += (_, _) => { };
        _service.ErrorDataReceived += (_, _) => { };
        _service.BeginOutputReadLine();
        _service.BeginErrorReadLine();
        await Eventually.Get(async () => File.Exists(Socket) ? "up" : _service.HasExited ? throw new InvalidOperationException($"podman system service exited with {_service.ExitCode}") : null,
            $"podman's API socket {Socket}", TimeSpan.FromSeconds(60));
    }

    private static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    private static async Task<string> RunAsync(string file, string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {await stderr}");
        return await stdout;
    }

    public async Task DisposeAsync()
    {
        if (_service is { HasExited: false })
        {
            _service.Kill();
            await _service.WaitForExitAsync();
        }
        _service?.Dispose();
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}
