using System.Globalization;
using Npgsql;

namespace Tosc.Cli.Stores;

/// <summary>
/// One URI scheme of a store: the prefixes it answers to, the form shown when a URI is wrong, and how it opens a backend.
/// To add a backend, write one class like <see cref="RedisScheme"/> and add it to <see cref="StoreSchemes.BuiltIn"/>;
/// parsing, errors and help pick it up from there.
/// </summary>
internal interface IStoreScheme
{
    /// <summary>The URI schemes, lower case, without the colon.</summary>
    IReadOnlyList<string> Schemes { get; }

    /// <summary>The expected form, for help and errors.</summary>
    string Form { get; }

    /// <summary>Opens the backend; a malformed URI is a <see cref="FormatException"/> (the caller adds <see cref="Form"/>).</summary>
    IBackend Open(string uri, Func<string, string?> environment);
}

/// <summary>The schemes the tool knows, and the parser that picks one.</summary>
internal static class StoreSchemes
{
    public const string BlobConnectionVariable = "TOSC_BLOB_CONNECTION_STRING";

    public static readonly IReadOnlyList<IStoreScheme> BuiltIn =
    [
        new FileScheme(),
        new RedisScheme(),
        new PostgresScheme(),
        new BlobScheme(),
        new EtcdScheme(),
    ];

    /// <summary>Opens the store a URI names; a URI no scheme accepts is a <see cref="UsageException"/> naming the forms.</summary>
    public static IBackend Open(string uri, IReadOnlyList<IStoreScheme> schemes, Func<string, string?> environment)
    {
        var colon = uri.IndexOf(':', StringComparison.Ordinal);
        var name = colon > 0 ? uri[..colon].ToLowerInvariant() : "";
        var scheme = schemes.FirstOrDefault(s => s.Schemes.Contains(name))
            ?? throw new UsageException($"'{uri}' is not a store URI this tool knows. Expected one of:{Environment.NewLine}{Forms(schemes)}");
        try
        {
            return scheme.Open(uri, environment);
        }
        catch (Exception e) when (e is FormatException or UriFormatException or ArgumentException)
        {
            throw new UsageException($"'{uri}' is not a valid {name}: URI: {e.Message}{Environment.NewLine}Expected: {scheme.Form}", e);
        }
    }

    public static string Forms(IReadOnlyList<IStoreScheme> schemes) =>
        string.Join(Environment.NewLine, schemes.Select(s => "  " + s.Form));

    /// <summary>The key a URI's path names (everything after the first '/', unescaped); required.</summary>
    public static string KeyOf(Uri uri, string what)
    {
        var key = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        return key.Length > 0 ? key : throw new FormatException($"the URI names no {what} after the host.");
    }

    /// <summary>The query string's parameters, unescaped.</summary>
    public static Dictionary<string, string> Query(Uri uri)
    {
        var query = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            query[key] = equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..]);
        }
        return query;
    }

    /// <summary>user and password from the URI's user info, unescaped.</summary>
    public static (string? User, string? Password) UserInfo(Uri uri)
    {
        if (uri.UserInfo.Length == 0)
            return (null, null);
        var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
        return colon < 0
            ? (Uri.UnescapeDataString(uri.UserInfo), null)
            : (NullIfEmpty(Uri.UnescapeDataString(uri.UserInfo[..colon])), Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]));
    }

    private static string? NullIfEmpty(string text) => text.Length == 0 ? null : text;
}

/// <summary><c>file:/path/to/store</c>, <c>file:///path/to/store</c> or <c>file:relative/path</c>: a FileBackend on that file.</summary>
internal sealed class FileScheme : IStoreScheme
{
    public IReadOnlyList<string> Schemes { get; } = ["file"];

    public string Form => "file:/path/to/store.tosc   (file:///abs/path and file:relative/path work too; ?lock=/path/to/lockfile)";

    public IBackend Open(string uri, Func<string, string?> environment)
    {
        var rest = uri["file:".Length..];
        string? lockPath = null;
        var question = rest.IndexOf('?', StringComparison.Ordinal);
        if (question >= 0)
        {
            foreach (var (key, value) in StoreSchemes.Query(new Uri("query:?" + rest[(question + 1)..])))
            {
                lockPath = key == "lock" ? value : throw new FormatException($"unknown parameter '{key}' (the file scheme knows lock=).");
            }
            rest = rest[..question];
        }
        if (rest.StartsWith("//", StringComparison.Ordinal))
        {
            var slash = rest.IndexOf('/', 2);
            var host = slash < 0 ? rest[2..] : rest[2..slash];
            if (host.Length > 0 && host != "localhost")
                throw new FormatException($"a file store is on this machine; the host '{host}' must be empty (file:///path).");
            rest = slash < 0 ? "" : rest[slash..];
        }
        rest = Uri.UnescapeDataString(rest);
        if (rest.Length == 0)
            throw new FormatException("the URI names no file.");
        return new FileBackend(Path.GetFullPath(rest), lockPath);
    }
}

/// <summary><c>redis://[user:password@]host:port/key</c> (<c>rediss://</c> for TLS; <c>?db=N</c>, <c>?prefix=P</c>).</summary>
internal sealed class RedisScheme : IStoreScheme
{
    public IReadOnlyList<string> Schemes { get; } = ["redis", "rediss"];

    public string Form => "redis://[user:password@]host:port/key   (rediss:// for TLS; ?db=N picks the database, ?prefix=P the key prefix, default tosc:)";

    public IBackend Open(string uri, Func<string, string?> environment)
    {
        var parsed = new Uri(uri);
        var key = StoreSchemes.KeyOf(parsed, "key");
        var port = parsed.IsDefaultPort || parsed.Port < 0 ? 6379 : parsed.Port;
        var configuration = string.Create(CultureInfo.InvariantCulture, $"{Host(parsed)}:{port}");
        var (user, password) = StoreSchemes.UserInfo(parsed);
        if (user is not null)
            configuration += ",user=" + user;
        if (password is not null)
            configuration += ",password=" + password;
        if (parsed.Scheme == "rediss")
            configuration += ",ssl=true";
        var options = new RedisBackendOptions();
        foreach (var (name, value) in StoreSchemes.Query(parsed))
        {
            if (name == "db")
                configuration += ",defaultDatabase=" + int.Parse(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);
            else if (name == "prefix")
                options.KeyPrefix = value;
            else
                throw new FormatException($"unknown parameter '{name}' (the redis scheme knows db= and prefix=).");
        }
        return new RedisBackend(configuration, key, options);
    }

    internal static string Host(Uri uri) =>
        uri.Host.Length > 0 ? uri.Host : throw new FormatException("the URI names no host.");
}

/// <summary><c>postgres://user:password@host:port/database?key=K</c> (or <c>postgresql://</c>); other parameters go to Npgsql.</summary>
internal sealed class PostgresScheme : IStoreScheme
{
    public IReadOnlyList<string> Schemes { get; } = ["postgres", "postgresql"];

    public string Form => "postgres://user:password@host:port/database?key=K   (postgresql:// too; other ?name=value go to Npgsql, e.g. sslmode=require)";

    public IBackend Open(string uri, Func<string, string?> environment)
    {
        var parsed = new Uri(uri);
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = RedisScheme.Host(parsed),
            Port = parsed.IsDefaultPort || parsed.Port < 0 ? 5432 : parsed.Port,
            Database = StoreSchemes.KeyOf(parsed, "database"),
        };
        var (user, password) = StoreSchemes.UserInfo(parsed);
        builder.Username = user;
        builder.Password = password;
        string? key = null;
        foreach (var (name, value) in StoreSchemes.Query(parsed))
        {
            if (name == "key")
                key = value;
            else
                builder[name] = value;
        }
        if (string.IsNullOrEmpty(key))
            throw new FormatException("the URI names no store key: add ?key=name.");
        return new PostgresBackend(builder.ConnectionString, key);
    }
}

/// <summary>
/// <c>azblob://container/blob</c> with the connection string in <c>TOSC_BLOB_CONNECTION_STRING</c> (kept out of the
/// command line and shell history), or a blob URL with a SAS token (<c>https://account.blob.core.windows.net/c/b?sv=...</c>).
/// </summary>
internal sealed class BlobScheme : IStoreScheme
{
    public IReadOnlyList<string> Schemes { get; } = ["azblob", "https", "http"];

    public string Form => $"azblob://container/blob   (connection string in {StoreSchemes.BlobConnectionVariable}), or a blob SAS URL https://account.blob.core.windows.net/container/blob?sv=...&sig=...";

    public IBackend Open(string uri, Func<string, string?> environment)
    {
        var parsed = new Uri(uri);
        if (parsed.Scheme != "azblob")
        {
            if (!parsed.Query.Contains("sig=", StringComparison.Ordinal))
                throw new FormatException("a blob URL needs a SAS token (?sv=...&sig=...); for an account key use azblob://container/blob with " + StoreSchemes.BlobConnectionVariable + ".");
            return new BlobBackend(parsed);
        }
        var container = parsed.Host;
        var blob = Uri.UnescapeDataString(parsed.AbsolutePath.TrimStart('/'));
        if (container.Length == 0 || blob.Length == 0)
            throw new FormatException("the URI must name a container and a blob: azblob://container/blob.");
        var connection = environment(StoreSchemes.BlobConnectionVariable);
        if (string.IsNullOrWhiteSpace(connection))
            throw new FormatException($"set {StoreSchemes.BlobConnectionVariable} to the storage account's connection string.");
        return new BlobBackend(connection, container, blob);
    }
}

/// <summary>
/// <c>etcd://host:port[,host:port...]/key</c> (<c>etcds://</c> for TLS): an EtcdBackend on every member named, the way
/// <c>etcdctl --endpoints</c> takes them. A user and password need a client built in code (docs/etcd-backend.md).
/// </summary>
internal sealed class EtcdScheme : IStoreScheme
{
    public IReadOnlyList<string> Schemes { get; } = ["etcd", "etcds"];

    public string Form => "etcd://host:port[,host:port...]/key   (etcds:// for TLS; every member's client URL, as etcdctl --endpoints takes them)";

    public IBackend Open(string uri, Func<string, string?> environment)
    {
        // System.Uri takes one host only: the member list is split by hand.
        var separator = uri.IndexOf("://", StringComparison.Ordinal);
        if (separator < 0)
            throw new FormatException("expected etcd://host:port/key.");
        var http = uri[..separator].Equals("etcds", StringComparison.OrdinalIgnoreCase) ? "https" : "http";
        var rest = uri[(separator + 3)..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var members = slash < 0 ? rest : rest[..slash];
        var key = slash < 0 ? "" : Uri.UnescapeDataString(rest[(slash + 1)..]);
        if (members.Contains('@', StringComparison.Ordinal))
            throw new FormatException("a user and password cannot go in an etcd URI; the tool connects without them.");
        if (key.Length == 0)
            throw new FormatException("the URI names no key after the members.");
        var endpoints = members.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (endpoints.Length == 0)
            throw new FormatException("the URI names no member.");
        return new EtcdBackend(string.Join(',', endpoints.Select(endpoint => $"{http}://{endpoint}")), key);
    }
}
