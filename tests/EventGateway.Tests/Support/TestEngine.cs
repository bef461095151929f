using Microsoft.Extensions.Logging;
using EventGateway.Model;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Execution;

namespace EventGateway.Tests.Support;

/// <summary>A real embedded engine (SQLite file, sandboxed processes) in a temporary data directory.</summary>
public sealed class TestEngine : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    private TestEngine(string dataDir, EmbeddedEngine engine) => (DataDir, Engine) = (dataDir, engine);

    public string DataDir { get; }
    public EmbeddedEngine Engine { get; }

    public static async Task<TestEngine> StartAsync(int maxProcesses = 64, TimeProvider? time = null, string? dataDir = null, Action<EventGatewayOptions>? configure = null)
    {
        dataDir ??= Directory.CreateTempSubdirectory("egw-test-").FullName;
        var logging = LoggerFactory.Create(b => b.AddProvider(new FileLoggerProvider(Path.Combine(Path.GetTempPath(), "egw-test-warnings.log"))));
        var options = new EventGatewayOptions { DataDir = dataDir, MaxProcesses = maxProcesses };
        configure?.Invoke(options);
        var engine = new EmbeddedEngine(options, logging, time);
        await engine.StartAsync();
        return new TestEngine(dataDir, engine);
    }

    /// <summary>Applies the other documents, then submits and awaits every Workflow in the YAML.</summary>
    public async Task<Workflow> RunYamlAsync(string yaml, params string[] parameters)
    {
        var docs = ManifestReader.Read(yaml, "test.yaml");
        await Engine.ApplyAsync(docs);
        var wf = docs.OfType<Workflow>().Single();
        var ps = parameters.Select(p => KeyValuePair.Create(p[..p.IndexOf('=')], p[(p.IndexOf('=') + 1)..])).ToList();
        return await RunAsync(wf, ps);
    }

    /// <summary>Submits and awaits a workflow; on timeout, fails with what the store knows about it.</summary>
    public async Task<Workflow> RunAsync(Workflow wf, IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        var submitted = await Engine.SubmitAsync(wf, parameters);
        using var cts = new CancellationTokenSource(Patience);
        try
        {
            return await Engine.WaitAsync(submitted, cts.Token);
        }
        catch (OperationCanceledException)
        {
            var now = await Engine.Store.GetAsync<Workflow>(submitted.NamespaceOrDefault, submitted.Name);
            throw new Xunit.Sdk.XunitException($"{submitted.Name} did not complete within {Patience}: phase {now?.Status?.Phase}, nodes: " +
                string.Join("; ", now?.Status?.Nodes?.Values.Select(n => $"{n.DisplayName}={n.Phase} {n.Message}") ?? []));
        }
    }

    public string Logs(Workflow wf, NodeStatus node, string stream = "stdout")
    {
        var path = Engine.Executor.LogPath(new StepKey(wf.NamespaceOrDefault, wf.Name, node.Id), stream);
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }

    public static NodeStatus Node(Workflow wf, string displayName) =>
        wf.Status!.Nodes!.Values.SingleOrDefault(n => n.DisplayName == displayName)
        ?? throw new Xunit.Sdk.XunitException($"no node '{displayName}' in {wf.Name}; nodes: {string.Join(", ", wf.Status.Nodes.Values.Select(n => $"{n.DisplayName}={n.Phase}"))}");

    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync();
        try { Directory.Delete(DataDir, recursive: true); }
        catch (IOException) { }
    }
}
