using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace CxEngine.LoadTest;

/// <summary>
/// Draws latency (p50 and p99, ms, log scale: one grid line per decade) against achieved throughput
/// (events/s, ten ticks) as a PNG, with no drawing library: a pixel buffer, lines, square markers,
/// written as a minimal PNG. The numbers and the axis ranges go in a .txt beside it.
/// </summary>
internal static class LatencyPlot
{
    private const int Width = 800, Height = 500, Left = 70, Right = 30, Top = 30, Bottom = 60;

    public static void Write(string path, IReadOnlyList<(double Throughput, double P50, double P99)> points)
    {
        var pixels = new byte[Width * Height * 3];
        Array.Fill(pixels, (byte)255);
        var maxX = Nice(points.Max(p => p.Throughput));
        var minDecade = Math.Floor(Math.Log10(Math.Max(0.01, points.Min(p => p.P50))));
        var maxDecade = Math.Ceiling(Math.Log10(Math.Max(0.1, points.Max(p => p.P99))));
        (int, int) Map(double x, double y) => (
            Left + (int)(x / maxX * (Width - Left - Right)),
            Height - Bottom - (int)((Math.Log10(Math.Max(y, 1e-3)) - minDecade) / (maxDecade - minDecade) * (Height - Top - Bottom)));

        // Axes, ten ticks across, one grid line per decade of latency.
        for (var i = 0; i <= 10; i++)
        {
            var (gx, _) = Map(maxX * i / 10, Math.Pow(10, minDecade));
            Line(pixels, gx, Top, gx, Height - Bottom, (230, 230, 230));
            Line(pixels, gx, Height - Bottom, gx, Height - Bottom + 6, (0, 0, 0));
        }

        for (var decade = minDecade; decade <= maxDecade; decade++)
        {
            var (_, gy) = Map(0, Math.Pow(10, decade));
            Line(pixels, Left, gy, Width - Right, gy, (210, 210, 210));
            Line(pixels, Left - 8, gy, Left, gy, (0, 0, 0));
        }

        Line(pixels, Left, Height - Bottom, Width - Right, Height - Bottom, (0, 0, 0));
        Line(pixels, Left, Top, Left, Height - Bottom, (0, 0, 0));

        var ordered = points.OrderBy(p => p.Throughput).ToArray();
        Series(pixels, ordered.Select(p => Map(p.Throughput, p.P50)).ToArray(), (30, 100, 220));
        Series(pixels, ordered.Select(p => Map(p.Throughput, p.P99)).ToArray(), (220, 50, 40));

        File.WriteAllBytes(path, Png(pixels));
        File.WriteAllText(Path.ChangeExtension(path, ".txt"),
            $"x: achieved throughput, 0..{maxX:N0} events/s (10 ticks); y: ack latency, log scale, {Math.Pow(10, minDecade)} .. {Math.Pow(10, maxDecade)} ms (a grid line per decade)\n" +
            "blue: p50, red: p99\n" +
            string.Join("\n", ordered.Select(p => $"{p.Throughput:N0} ev/s: p50 {p.P50:F2} ms, p99 {p.P99:F2} ms")) + "\n");
    }

    private static void Series(byte[] pixels, (int X, int Y)[] points, (byte, byte, byte) color)
    {
        for (var i = 1; i < points.Length; i++)
        {
            Line(pixels, points[i - 1].X, points[i - 1].Y, points[i].X, points[i].Y, color);
        }

        foreach (var (x, y) in points)
        {
            for (var dx = -3; dx <= 3; dx++)
            {
                for (var dy = -3; dy <= 3; dy++)
                {
                    Set(pixels, x + dx, y + dy, color);
                }
            }
        }
    }

    private static void Line(byte[] pixels, int x0, int y0, int x1, int y1, (byte, byte, byte) color)
    {
        int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
        while (true)
        {
            Set(pixels, x0, y0, color);
            Set(pixels, x0, y0 + 1, color);
            if (x0 == x1 && y0 == y1)
            {
                return;
            }

            var e2 = 2 * err;
            if (e2 >= dy)
            {
                err += dy;
                x0 += sx;
            }

            if (e2 <= dx)
            {
                err += dx;
                y0 += sy;
            }
        }
    }

    private static void Set(byte[] pixels, int x, int y, (byte R, byte G, byte B) color)
    {
        if (x < 0 || y < 0 || x >= Width || y >= Height)
        {
            return;
        }

        var i = ((y * Width) + x) * 3;
        (pixels[i], pixels[i + 1], pixels[i + 2]) = (color.R, color.G, color.B);
    }

    private static double Nice(double max)
    {
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(Math.Max(max, 1e-9))));
        foreach (var step in new[] { 1, 2, 2.5, 5, 10 })
        {
            if (step * magnitude >= max)
            {
                return step * magnitude;
            }
        }

        return 10 * magnitude;
    }

    private static byte[] Png(byte[] rgb)
    {
        using var raw = new MemoryStream();
        for (var y = 0; y < Height; y++)
        {
            raw.WriteByte(0); // no filter
            raw.Write(rgb, y * Width * 3, Width * 3);
        }

        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            raw.Position = 0;
            raw.CopyTo(z);
        }

        using var png = new MemoryStream();
        png.Write([137, 80, 78, 71, 13, 10, 26, 10]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, Width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), Height);
        header[8] = 8; // bit depth
        header[9] = 2; // truecolour
        Chunk(png, "IHDR", header);
        Chunk(png, "IDAT", compressed.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        png.Write(length);
        var typeBytes = System.Text.Encoding.ASCII.GetBytes(type);
        png.Write(typeBytes);
        png.Write(data);
        var crc = new Crc32();
        crc.Append(typeBytes);
        crc.Append(data);
        Span<byte> checksum = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(checksum, crc.GetCurrentHashAsUInt32());
        png.Write(checksum);
    }
}
