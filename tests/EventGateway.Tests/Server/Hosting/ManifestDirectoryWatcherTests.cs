using EventGateway.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Store;

namespace EventGateway.Tests.Server.Hosting;

public sealed class ManifestDirectoryWatcherTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("egw-manifests-").FullName;
    private readonly string _dir;
    private readonly FakeTimeProvider _time = new();
    private readonly SqliteResourceStore _store;

    public ManifestDirectoryWatcherTests()
    {
        _dir = Directory.CreateDirectory(Path.Combine(_root, "m")).FullName;
        _store = new SqliteResourceStore(Path.Combine(_root, "egw.db"), _time);
    }

    public void Dispose()
    {
        _store.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private ManifestDirectoryWatcher Watcher() => new([_dir], _store, _time, NullLogger<ManifestDirectoryWatcher>.Instance);

    private static string Source(string name, string port = "12000", string endpoint = "/push") => $"""
        apiVersion: argoproj.io/v1alpha1
        kind: EventSource
        metadata: {"{"}name: {name}{"}"}
        spec:
          webhook:
            push: {"{"}port: "{port}", endpoint: {endpoint}, method: POST{"}"}
        """;

    private const string ConfigMap = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings}
        data: {mode: fast}
        """;

    [Fact]
    public async Task A_bad_document_is_refused_with_its_location_and_the_others_load()
    {
        File.WriteAllText(Path.Combine(_dir, "sources.yaml"), Source("good") + "\n---\n" + Source("bad", port: "http") + "\n---\n" + ConfigMap);
        File.WriteAllText(Path.Combine(_dir, "notes.txt"), "not a manifest");
        using var w = Watcher();
        await w.StartAsync(CancellationToken.None);

        (await _store.GetAsync<EventSource>("default", "good")).ShouldNotBeNull();
        (await _store.GetAsync<ConfigMap>("default", "settings"))!.Data!["mode"].ShouldBe("fast");
        (await _store.GetAsync<EventSource>("default", "bad")).ShouldBeNull();
        var error = w.Errors.ShouldHaveSingleItem().Value.ShouldHaveSingleItem();
        error.ToString().ShouldBe($"{_dir}/sources.yaml:13: document 2 (EventSource/bad): spec.webhook.push.port: 'http' is not a port number (1-65535)");
    }

    [Fact]
    public async Task Edits_apply_removed_documents_and_files_delete_their_objects()
    {
        var file = Path.Combine(_dir, "a.yaml");
        File.WriteAllText(file, Source("one") + "\n---\n" + Source("two", endpoint: "/two"));
        using var w = Watcher();
        await w.StartAsync(CancellationToken.None);
        (await _store.ListAsync<EventSource>()).Select(e => e.Name).Order().ShouldBe(["one", "two"]);
        (await _store.GetAsync<EventSource>("default", "one"))!.Metadata.Annotations![ManifestDirectoryWatcher.SourceAnnotation].ShouldBe(file);

        File.WriteAllText(file, Source("one", endpoint: "/changed"));
        await w.LoadAsync();
        (await _store.GetAsync<EventSource>("default", "one"))!.Spec.Webhook!["push"].Endpoint.ShouldBe("/changed");
        (await _store.GetAsync<EventSource>("default", "two")).ShouldBeNull();

        File.Delete(file);
        await w.LoadAsync();
        (await _store.ListAsync<EventSource>()).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_file_change_is_picked_up_by_the_watcher_after_the_debounce()
    {
        using var w = Watcher();
        await w.StartAsync(CancellationToken.None);
        var loaded = new SemaphoreSlim(0);
        w.Loaded += () => loaded.Release();
        File.WriteAllText(Path.Combine(_dir, "new.yaml"), ConfigMap);
        // The file event arms the debounce timer on the fake clock; advance it until a load runs.
        await Eventually.Get(async () =>
        {
            _time.Advance(TimeSpan.FromMilliseconds(250));
            return await loaded.WaitAsync(50) ? "loaded" : null;
        }, "the watcher to load the new file");
        (await _store.GetAsync<ConfigMap>("default", "settings")).ShouldNotBeNull();
    }

    [Fact]
    public async Task Workflows_are_not_loaded_from_a_directory()
    {
        File.WriteAllText(Path.Combine(_dir, "wf.yaml"), """
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: hello-}
            spec:
              entrypoint: main
              templates: [{name: main, container: {image: alpine, command: [echo, hi]}}]
            """);
        using var w = Watcher();
        await w.StartAsync(CancellationToken.None);
        (await _store.ListAsync<Workflow>()).ShouldBeEmpty();
        w.Errors.Single().Value.Single().Reason.ShouldContain("submit them with `egw submit`");
    }

    [Fact]
    public async Task After_a_restart_objects_of_files_deleted_meanwhile_are_removed_and_others_kept()
    {
        File.WriteAllText(Path.Combine(_dir, "a.yaml"), Source("from-file"));
        using (var first = Watcher()) await first.StartAsync(CancellationToken.None);
        await _store.ApplyAsync(ManifestReader.Read(Source("applied-by-hand", endpoint: "/hand"), "cli").OfType<EventSource>().Single());

        File.Delete(Path.Combine(_dir, "a.yaml"));
        using var second = Watcher();
        await second.StartAsync(CancellationToken.None);
        (await _store.ListAsync<EventSource>()).Select(e => e.Name).ShouldBe(["applied-by-hand"]);
    }

    [Fact]
    public async Task A_missing_directory_is_an_error_at_start()
    {
        using var w = new ManifestDirectoryWatcher([Path.Combine(_root, "absent")], _store, _time, NullLogger<ManifestDirectoryWatcher>.Instance);
        var e = await Should.ThrowAsync<DirectoryNotFoundException>(() => w.StartAsync(CancellationToken.None));
        e.Message.ShouldContain("absent");
    }
}
