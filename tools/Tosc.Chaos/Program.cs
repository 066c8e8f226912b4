using System.Globalization;

namespace Tosc.Chaos;

/// <summary>The chaos runner's command line: see <see cref="Usage"/>.</summary>
public static class Program
{
    public const string Usage = """
        Tosc chaos runner: worker processes run random transactions while faults are injected, then every
        acknowledged commit is checked against the store.

          Tosc.Chaos --backend inproc|file|redis|redis-cluster|blob|etcd|postgres [--short | --minutes N] [options]

          --short            the short profile: about 25 s of load (under 60 s per backend in all)
          --minutes N        a soak of N minutes of load
          --workers K        worker processes (threads for inproc); default 4
          --seed S           the seed of every random choice; default: random, printed
          --lost-replies P   probability that a write's reply is lost (half before, half after it landed); default 0.01
          --no-faults        run the load without killing or restarting anything (lost replies still apply)
          --contention       the contention-heavy profile: every transaction touches the same counter and a
                             few keys, and runs with Tosc's default retries (no generous retry count)
          --dir PATH         where journals and the file store go; default: a new temporary folder
          --keep             keep that folder even when every check passed

        Prints one PASS/FAIL line per check, the figures, and "N passed, M failed"; exits 0 only when nothing failed.
        """;

    public static async Task<int> Main(string[] args)
    {
        try
        {
            var arguments = new Arguments(args);
            if (arguments.Has("help") || args.Length == 0)
            {
                Console.WriteLine(Usage);
                return args.Length == 0 ? 2 : 0;
            }
            if (arguments.Has("worker"))
                return await WorkerMain.RunWorkerAsync(arguments);
            if (arguments.Has("hold-lock"))
                return WorkerMain.HoldLock(arguments);
            var options = RunOptions.From(arguments);
            return await new Coordinator(options).RunAsync();
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 2;
        }
    }
}

/// <summary>The settings of one run.</summary>
internal sealed record RunOptions(string Backend, TimeSpan Load, int Workers, int Seed, double LostReplies, bool Faults, string? Directory, bool Keep, bool Short, bool Contention)
{
    public static RunOptions From(Arguments arguments)
    {
        var backend = arguments.Required("backend");
        if (backend is not ("inproc" or "file" or "redis" or "redis-cluster" or "blob" or "etcd" or "postgres"))
            throw new ArgumentException($"--backend {backend} is not known; use inproc, file, redis, redis-cluster, blob, etcd or postgres.");
        var isShort = arguments.Has("short");
        var minutes = arguments.Get("minutes") is { } m ? double.Parse(m, CultureInfo.InvariantCulture) : (double?)null;
        if (isShort == minutes.HasValue)
            throw new ArgumentException("Give exactly one of --short and --minutes N.");
        if (minutes <= 0)
            throw new ArgumentException("--minutes must be positive.");
        var workers = int.Parse(arguments.Get("workers") ?? "4", CultureInfo.InvariantCulture);
        if (workers is < 1 or > 64)
            throw new ArgumentException("--workers must be between 1 and 64.");
        var seed = arguments.Get("seed") is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : Random.Shared.Next();
        var lost = double.Parse(arguments.Get("lost-replies") ?? "0.01", CultureInfo.InvariantCulture);
        if (lost is < 0 or > 0.5)
            throw new ArgumentException("--lost-replies must be between 0 and 0.5.");
        var load = isShort ? TimeSpan.FromSeconds(backend == "blob" ? 20 : 25) : TimeSpan.FromMinutes(minutes!.Value);
        return new RunOptions(backend, load, workers, seed, lost, !arguments.Has("no-faults"), arguments.Get("dir"), arguments.Has("keep"), isShort, arguments.Has("contention"));
    }
}
