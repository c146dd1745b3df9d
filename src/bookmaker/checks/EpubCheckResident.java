import com.adobe.epubcheck.tool.EpubChecker;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;

/**
 * bookmaker's resident EPUBCheck (checks/validate.py, ResidentEpubCheck): one JVM that runs
 * EPUBCheck's own command line once per line of standard input, so that a catalogue's worker
 * pays for the JVM's start, the loading of EPUBCheck's classes and the compiling of its schemas
 * once instead of once a book.
 *
 * Protocol: each input line is one run's arguments, separated by tabs, the last one the path of
 * a file to write what EPUBCheck printed to; for each line one output line, EPUBCheck's exit
 * code. End of input (the Python side closing the pipe, or dying) ends the JVM.
 */
public final class EpubCheckResident {
    public static void main(String[] ignored) throws IOException {
        PrintStream answers = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] parts = line.split("\t", -1);
            String[] args = new String[parts.length - 1];
            System.arraycopy(parts, 0, args, 0, args.length);
            ByteArrayOutputStream printed = new ByteArrayOutputStream();
            PrintStream capture = new PrintStream(printed, true, StandardCharsets.UTF_8);
            System.setOut(capture);
            System.setErr(capture);
            int code;
            try {
                code = new EpubChecker().run(args);
            } catch (Throwable t) {
                t.printStackTrace(capture);
                code = -1;
            }
            capture.flush();
            Files.write(Paths.get(parts[parts.length - 1]), printed.toByteArray());
            answers.println(code);
        }
    }
}
