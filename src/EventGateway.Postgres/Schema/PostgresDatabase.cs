using System.Globalization;
using DbUp;
using DbUp.Engine.Output;
using Npgsql;

namespace EventGateway.Postgres.Schema;

/// <summary>
/// The PostgreSQL database every replica shares: the data source made from a <c>postgres://</c> URL, and the schema
/// brought up to date at start (versioned migrations embedded in this assembly, applied once, in order, by whichever
/// replica takes the migration lock first; the others wait and find nothing left to do).
/// </summary>
public sealed class PostgresDatabase : IAsyncDisposable
{
    /// <summary>pg_advisory_lock key that serialises migrations across replicas ("egw-migr" as a 64-bit number).</summary>
    private const long MigrationLock = 0x6567772D6D696772;

    private PostgresDatabase(NpgsqlDataSource source, string display)
    {
        Source = source;
        Display = display;
    }

    public NpgsqlDataSource Source { get; }

    /// <summary>The URL without its password, for logs and errors.</summary>
    public string Display { get; }

    /// <summary>Connects, applies the migrations this binary knows, and refuses a schema newer than it.</summary>
    /// <exception cref="ArgumentException">the URL is not a postgres:// URL.</exception>
    /// <exception cref="InvalidOperationException">the database does not answer, or its schema is newer than this egw.</exception>
    public static async Task<PostgresDatabase> OpenAsync(string url, CancellationToken ct = default)
    {
        var (connectionString, display) = ToConnectionString(url);
        var source = NpgsqlDataSource.Create(connectionString);
        var db = new PostgresDatabase(source, display);
        try
        {
            await db.MigrateAsync(connectionString, ct).ConfigureAwait(false);
            return db;
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"--store {display}: the database does not answer: {e.Message}", e);
        }
        catch
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task MigrateAsync(string connectionString, CancellationToken ct)
    {
        await using var lockConnection = await Source.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({MigrationLock})", lockConnection))
            await take.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        try
        {
            var upgrader = DeployChanges.To.PostgresqlDatabase(connectionString)
                .WithScriptsEmbeddedInAssembly(typeof(PostgresDatabase).Assembly, name => name.Contains(".Schema.Migrations.", StringComparison.Ordinal))
                .WithTransactionPerScript()
                .JournalToPostgresqlTable("public", "egw_schema_versions")
                .LogTo(new NoUpgradeLog())
                .Build();
            var unknown = upgrader.GetExecutedButNotDiscoveredScripts();
            if (unknown.Count > 0)
                throw new InvalidOperationException($"--store {Display}: the database's schema is newer than this egw (it has {unknown.Count} migration(s) this version does not know, e.g. {unknown[0]}): run the newer egw, or restore the database from before it");
            var result = await Task.Run(upgrader.PerformUpgrade, ct).ConfigureAwait(false);
            if (!result.Successful)
                throw new InvalidOperationException($"--store {Display}: migration {result.ErrorScript?.Name} failed: {result.Error?.Message}", result.Error);
        }
        finally
        {
            await using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({MigrationLock})", lockConnection);
            await release.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Refuses what is not a postgres:// URL this egw understands, naming the problem (never the password).</summary>
    /// <exception cref="ArgumentException">the URL is not usable.</exception>
    public static void ValidateUrl(string url) => ToConnectionString(url);

    /// <summary>
    /// libpq's URL form (postgres://user:password@host:port/database?sslmode=require) as an Npgsql connection string.
    /// Hand-written: Npgsql takes only keyword connection strings, and the URL is what platform teams hand around.
    /// </summary>
    internal static (string ConnectionString, string Display) ToConnectionString(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("postgres" or "postgresql") || string.IsNullOrEmpty(uri.Host))
            throw new ArgumentException($"--store '{Redact(url)}' is not a PostgreSQL URL: use postgres://USER:PASSWORD@HOST:PORT/DATABASE");
        var b = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port < 0 ? 5432 : uri.Port,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')) is { Length: > 0 } db ? db : "egw",
            ApplicationName = "egw",
        };
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            b.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2) b.Password = Uri.UnescapeDataString(parts[1]);
        }
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var (key, value) = (Uri.UnescapeDataString(kv[0]), kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "");
            switch (key)
            {
                case "sslmode": b.SslMode = Enum.Parse<SslMode>(value.Replace("-", ""), ignoreCase: true); break;
                case "application_name": b.ApplicationName = value; break;
                case "connect_timeout": b.Timeout = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "pool_max": b.MaxPoolSize = int.Parse(value, CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"--store '{Redact(url)}': unknown parameter '{key}' (known: sslmode, application_name, connect_timeout, pool_max)");
            }
        }
        return (b.ConnectionString, Redact(url));
    }

    /// <summary>The URL with its password replaced by ***, for logs and messages.</summary>
    public static string Redact(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.UserInfo.Contains(':')
            ? url.Replace(uri.UserInfo, uri.UserInfo.Split(':')[0] + ":***", StringComparison.Ordinal)
            : url;

    public ValueTask DisposeAsync() => Source.DisposeAsync();

    private sealed class NoUpgradeLog : IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) { }
        public void LogDebug(string format, params object[] args) { }
        public void LogInformation(string format, params object[] args) { }
        public void LogWarning(string format, params object[] args) { }
        public void LogError(string format, params object[] args) { }
        public void LogError(Exception ex, string format, params object[] args) { }
    }
}
