using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace EventGateway.Tests.Support;

/// <summary>
/// A real S3 HTTP API on loopback: s3rver (npm, installed in tests/tools by <c>npm ci --prefix tests/tools</c>)
/// as a child process with its own temporary directory and a free port, killed on dispose.
/// </summary>
public sealed class S3Server : IAsyncDisposable
{
    /// <summary>s3rver's fixed credentials; any other key is refused with 403.</summary>
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    private readonly string[] _buckets;
    private readonly StringBuilder _output = new();
    private Process? _process;

    private S3Server(int port, string directory, string[] buckets)
    {
        Port = port;
        Directory = directory;
        _buckets = buckets;
        Client = new AmazonS3Client(new BasicAWSCredentials(AccessKey, SecretKey), new AmazonS3Config
        {
            ServiceURL = Url.ToString(),
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = 0,
        });
    }

    public int Port { get; }
    public string Directory { get; }
    /// <summary>Argo's form of the endpoint: host:port (with <c>insecure: true</c> for plain HTTP).</summary>
    public string Endpoint => $"127.0.0.1:{Port}";
    public Uri Url => new($"http://127.0.0.1:{Port}/");

    /// <summary>
    /// Argo's way of naming a default artifact repository, pointing at this server: the `artifact-repositories`
    /// ConfigMap and an `s3-cred` Secret, as YAML documents to put before a workflow.
    /// </summary>
    public string DefaultRepositoryManifests(string bucket) => $$"""
        apiVersion: v1
        kind: Secret
        metadata: {name: s3-cred}
        stringData: {accessKey: {{AccessKey}}, secretKey: {{SecretKey}}}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: artifact-repositories
          annotations: {workflows.argoproj.io/default-artifact-repository: default}
        data:
          default: |
            s3:
              endpoint: {{Endpoint}}
              bucket: {{bucket}}
              insecure: true
              accessKeySecret: {name: s3-cred, key: accessKey}
              secretKeySecret: {name: s3-cred, key: secretKey}
        ---

        """;
    public IAmazonS3 Client { get; }

    public static async Task<S3Server> StartAsync(params string[] buckets)
    {
        var server = new S3Server(EventTestHost.FreePort(), System.IO.Directory.CreateTempSubdirectory("egw-s3rver-").FullName, buckets);
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the server (again, after <see cref="StopAsync"/>) on the same port and directory, so its objects stay.</summary>
    public async Task StartAgainAsync()
    {
        if (_process is not null) throw new InvalidOperationException("s3rver is running");
        var script = Path.Combine(RepoRoot(), "tests", "tools", "node_modules", "s3rver", "bin", "s3rver.js");
        if (!File.Exists(script)) throw new InvalidOperationException($"{script} is missing: run `npm ci --prefix tests/tools` first");
        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { script, "--directory", Directory, "--address", "127.0.0.1", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--silent" })
            psi.ArgumentList.Add(a);
        foreach (var b in _buckets)
        {
            psi.ArgumentList.Add("--configure-bucket");
            psi.ArgumentList.Add(b);
        }
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _process = p;
        await Eventually.Get(async () =>
        {
            if (p.HasExited) throw new InvalidOperationException($"s3rver exited with {p.ExitCode}: {Output}");
            try
            {
                await Client.ListBucketsAsync();
                return "up";
            }
            catch (Exception e) when (e is AmazonServiceException or HttpRequestException or IOException)
            {
                return null;
            }
        }, $"s3rver on {Endpoint} to answer", TimeSpan.FromSeconds(30));
    }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>Puts an object as an S3-compatible server needs it (no chunk framing); returns its ETag without quotes.</summary>
    public async Task<string> PutAsync(string bucket, string key, string content)
    {
        var response = await Client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = bucket, Key = key, ContentBody = content, ContentType = "text/plain", UseChunkEncoding = false,
        });
        return response.ETag.Trim('"');
    }

    public Task DeleteAsync(string bucket, string key) => Client.DeleteObjectAsync(bucket, key);

    /// <summary>Kills the server, keeping its directory for <see cref="StartAgainAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (_process is not { } p) return;
        _process = null;
        if (!p.HasExited) p.Kill(entireProcessTree: true);
        await p.WaitForExitAsync();
        p.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Client.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
    }

    /// <summary>The folder holding EventGateway.sln: above the test binaries, or else above this source file.</summary>
    private static string RepoRoot([CallerFilePath] string source = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(source) ?? "" })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "EventGateway.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no EventGateway.sln above {AppContext.BaseDirectory}");
    }
}
