using System.Text.Json;
using EventGateway.Model;
using EventGateway.Tests.Support;
using Shouldly;

namespace EventGateway.Tests.Security;

/// <summary>
/// Output parameters and artifacts are read inside the step's root: a symlink that leads out of it (absolute,
/// through .., chained, through /proc) is refused, and the host file's content appears nowhere.
/// </summary>
public sealed class OutputConfinementTests : IDisposable
{
    private readonly DirectoryInfo _secretDir = Directory.CreateTempSubdirectory("egw-secret-");
    private readonly string _secret = $"host-secret-{Guid.NewGuid():N}";
    private string SecretFile => Path.Combine(_secretDir.FullName, "secret.txt");

    public OutputConfinementTests()
    {
        File.WriteAllText(SecretFile, _secret);
        if (OperatingSystem.IsWindows()) return;
        File.SetUnixFileMode(_secretDir.FullName, (UnixFileMode)0b111_101_101); // readable by anyone on the host: only the sandbox protects it
        File.SetUnixFileMode(SecretFile, (UnixFileMode)0b110_100_100);
    }

    public void Dispose() => _secretDir.Delete(recursive: true);

    private static string Workflow(string setup, string outputs) => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {generateName: outputs-}
        spec:
          entrypoint: main
          templates:
          - name: main
            script:
              image: debian
              command: [bash]
              source: |
                set -e
                {{setup}}
            outputs:
              {{outputs}}
        """;

    private const string Parameter = "parameters: [{name: out, valueFrom: {path: /tmp/out}}]";
    private const string Artifact = "artifacts: [{name: out, path: /tmp/out}]";
    private const string Up = "../../../../../../../../../..";

    public static TheoryData<string, string, string> Escapes => new()
    {
        { "absolute link to a host file", "ln -s SECRET /tmp/out", Parameter },
        { "..-escape", $"ln -s {Up}SECRET /tmp/out", Parameter },
        { "chain of links", $"ln -s b /tmp/out; ln -s c /tmp/b; ln -s {Up}SECRET /tmp/c", Parameter },
        { "/proc/1/root", "ln -s /proc/1/root/SECRET /tmp/out", Parameter },
        { "/proc/self/root", "ln -s /proc/self/root/SECRET /tmp/out", Parameter },
        { "absolute link as file artifact", "ln -s SECRET /tmp/out", Artifact },
        { "link to a host directory as artifact", "ln -s SECRETDIR /tmp/out", Artifact },
        { "..-escape to a host directory as artifact", $"ln -s {Up}SECRETDIR /tmp/out", Artifact },
        { "directory holding an escaping link", $"mkdir /tmp/out; echo fine > /tmp/out/a; ln -s {Up}SECRET /tmp/out/x", Artifact },
        { "directory holding an absolute link", "mkdir -p /tmp/out/sub; ln -s SECRET /tmp/out/sub/x", Artifact },
        { "directory holding a link to a host directory", "mkdir /tmp/out; ln -s SECRETDIR /tmp/out/d", Artifact },
    };

    [Theory]
    [MemberData(nameof(Escapes))]
    public async Task An_output_that_leads_out_of_the_steps_root_is_refused_without_the_hosts_content(string attack, string setup, string outputs)
    {
        _ = attack;
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Workflow(setup.Replace("SECRETDIR", _secretDir.FullName).Replace("SECRET", SecretFile), outputs));

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Error);
        var node = wf.Status.Nodes!.Values.Single(n => n.Type == NodeType.Pod);
        node.Phase.ShouldBe(NodePhase.Error);
        node.Message.ShouldNotBeNull().ShouldMatch("failed to (read output parameter|save outputs)");
        JsonSerializer.Serialize(wf).ShouldNotContain(_secret);
        var stored = await t.Engine.Store.GetAsync<Workflow>(wf.NamespaceOrDefault, wf.Name);
        JsonSerializer.Serialize(stored).ShouldNotContain(_secret);
        // Nothing in the data directory (artifact store, logs, database) holds the host file's content.
        foreach (var file in new DirectoryInfo(t.DataDir).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }))
            if (File.ReadAllText(file.FullName).Contains(_secret, StringComparison.Ordinal)) throw new Xunit.Sdk.XunitException($"{file.FullName} holds the host's secret");
    }

    [Fact]
    public async Task Links_that_stay_inside_the_steps_root_still_work()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Workflow(
            "echo fine > /tmp/real; ln -s real /tmp/out; mkdir -p /tmp/dir/sub; echo a > /tmp/dir/a; ln -s ../a /tmp/dir/sub/link; ln -s /tmp/real /tmp/abs",
            "parameters: [{name: out, valueFrom: {path: /tmp/out}}, {name: abs, valueFrom: {path: /tmp/abs}}]\n      artifacts: [{name: dir, path: /tmp/dir}]"));

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var node = wf.Status.Nodes!.Values.Single(n => n.Type == NodeType.Pod);
        node.Outputs!.Parameters!.Single(p => p.Name == "out").Value.ShouldBe("fine");
        node.Outputs.Parameters!.Single(p => p.Name == "abs").Value.ShouldBe("fine"); // absolute, as the step saw it: inside its root
        node.Outputs.Artifacts!.ShouldContain(a => a.Name == "dir");
    }
}
