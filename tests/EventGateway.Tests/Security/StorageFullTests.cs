using System.Diagnostics;
using System.Net;
using System.Text.Json;
using EventGateway.Events.Log;
using EventGateway.Server.Api;
using EventGateway.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;

namespace EventGateway.Tests.Security;

/// <summary>
/// A full disk under a real `egw serve`: its data directory is a small tmpfs (mounted for the test, as root), filled with
/// a file until the kernel answers ENOSPC. Writes are refused with 503 and Retry-After, readiness says not ready, and
/// nothing half-written is left; freeing space makes it ready again.
/// </summary>
public sealed class StorageFullTests
{
    private static async Task Run(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        var error = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {error}");
    }

    private static void Fill(string path)
    {
        var chunk = new byte[256 * 1024];
        using var f = new FileStream(path, FileMode.Create, FileAccess.Write);
        try
        {
            while (true) { f.Write(chunk); f.Flush(); }
        }
        catch (IOException) { } // ENOSPC: the disk is full
        chunk = new byte[4096];
        try { while (true) { f.Write(chunk); f.Flush(); } }
        catch (IOException) { }
    }

    private static string BigWorkflow(string name) => $$"""
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "{{name}}"},
         "spec": {"entrypoint": "m", "arguments": {"parameters": [{"name": "blob", "value": "{{new string('b', 1024 * 1024)}}"} ]},
                  "templates": [{"name": "m", "container": {"image": "busybox", "command": ["true"]} } ]} }
        """;

    [Fact]
    public async Task A_workflow_POST_on_a_full_disk_is_503_with_Retry_After_and_readyz_is_not_ready_until_space_returns()
    {
        var mount = Directory.CreateTempSubdirectory("egw-full-").FullName;
        await Run("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mount);
        try
        {
            var data = Path.Combine(mount, "data");
            await using (var serve = await ServeProcess.StartAsync(dataDir: data))
            {
                using var http = serve.CreateClient();
                (await http.GetAsync("readyz")).StatusCode.ShouldBe(HttpStatusCode.OK);
                var filler = Path.Combine(mount, "filler");
                Fill(filler);

                var r = await http.PostAsync("api/v1/workflows/default", ServeProcess.Json(BigWorkflow("on-full-disk")));
                var body = await r.Content.ReadAsStringAsync();
                r.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable, body);
                r.Headers.RetryAfter!.Delta.ShouldBe(TimeSpan.FromSeconds(5));
                body.ShouldNotContain("\n");
                JsonDocument.Parse(body).RootElement.GetProperty("message").GetString().ShouldStartWith("storage cannot take writes now (disk is full)");

                var ready = await http.GetAsync("readyz");
                ready.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
                (await ready.Content.ReadAsStringAsync()).ShouldContain("cannot take writes");

                File.Delete(filler);
                await Eventually.Get(async () => (await http.GetAsync("readyz")).IsSuccessStatusCode ? "ready" : null, "readiness after space returns");
                (await http.GetAsync("api/v1/workflows/default/on-full-disk")).StatusCode.ShouldBe(HttpStatusCode.NotFound, "nothing half-written");
                (await http.PostAsync("api/v1/workflows/default", ServeProcess.Json(BigWorkflow("after")))).StatusCode.ShouldBe(HttpStatusCode.OK);
            }
        }
        finally
        {
            await Run("umount", "-l", mount);
            Directory.Delete(mount, recursive: true);
        }
    }

    [Fact]
    public async Task The_event_log_refuses_appends_on_a_full_disk_says_so_and_accepts_again_when_space_returns()
    {
        var mount = Directory.CreateTempSubdirectory("egw-full-").FullName;
        await Run("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mount);
        try
        {
            await using var log = new SqliteEventLog(Path.Combine(mount, "events.db"), new EventLogOptions(), TimeProvider.System, NullLogger<SqliteEventLog>.Instance);
            log.AcceptsWrites.ShouldBeTrue();
            EventToAppend Event(string id) => new("default", new CloudEvent(id, "hook", "webhook", "push", DateTimeOffset.UnixEpoch, new byte[1024 * 1024]));
            var filler = Path.Combine(mount, "filler");
            Fill(filler);

            await Should.ThrowAsync<EventLogUnavailableException>(() => log.AppendAsync([Event("on-full-disk")]));
            log.AcceptsWrites.ShouldBeFalse();
            (await log.StatsAsync()).Count.ShouldBe(0);

            File.Delete(filler);
            await log.AppendAsync([Event("after")]);
            log.AcceptsWrites.ShouldBeTrue();
            (await log.StatsAsync()).Count.ShouldBe(1);
        }
        finally
        {
            await Run("umount", "-l", mount);
            Directory.Delete(mount, recursive: true);
        }
    }

    [Fact]
    public async Task An_unexpected_exception_is_a_one_line_500_without_a_stack_trace()
    {
        var guard = new RequestGuard(_ => throw new InvalidOperationException("line one\n   at Some.Frame()\nline three"), NullLogger<RequestGuard>.Instance);
        var http = new DefaultHttpContext();
        http.Request.Method = "GET";
        http.Request.Path = "/api/v1/workflows/default";
        http.Response.Body = new MemoryStream();
        await guard.InvokeAsync(http);

        http.Response.StatusCode.ShouldBe(500);
        http.Response.Body.Position = 0;
        var body = await new StreamReader(http.Response.Body).ReadToEndAsync();
        body.ShouldBe("""{"code":13,"message":"internal error (InvalidOperationException); the service log has a line for GET /api/v1/workflows/default"}""");
    }
}
