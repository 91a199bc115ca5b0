-- The weekly job as one PostgreSQL batch (bench/baselines/pg-batch runs it
-- with psql): what a data team would write instead of the pipeline, on
-- PostgreSQL 15. Same rules as the product (SPEC §2-§7), same outputs byte
-- for byte as deploy/aij-local.
--
-- Runs in the staging folder, where the driver linked week.csv,
-- dossiers.csv, communes.csv, motifs.csv, coverage.csv and fold.sql; psql
-- variable run_id. Writes reports/<ml>.csv, reports/_national.csv,
-- integrated.csv, summary.json (psql writes them: \o).
--
-- Inputs are taken as UTF-8, like the SQLite batch (batch.sql): no
-- Windows-1252 fallback. A line that is not UTF-8 (or holds a NUL, a CR
-- before its end, or the byte 0x1F) makes COPY fail with its message: the
-- batch stops, it never writes outputs that differ.
--
-- Written as a data team would, for PostgreSQL: COPY into unlogged tables,
-- each stage a CREATE TABLE AS (the planner may run it in parallel; INSERT
-- ... SELECT never is), every stored value computed once, N() once per
-- distinct name, the cascade one join per step on the lines still open,
-- hash joins and aggregates in memory (the cluster's settings: pg-batch).

\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset footer off
\pset null ''
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS aij CASCADE;
CREATE SCHEMA aij;
SET search_path = aij;

-- 1. Import --------------------------------------------------------------------------------
-- COPY needs the same number of fields on every line, and the week's lines
-- with a wrong count are data to report (code 01): each line comes in whole
-- and SQL splits it. So COPY's own field splitting and quoting are turned
-- off: CSV format with the unit separator 0x1F as delimiter and 0x01 as
-- quote (neither occurs in the files); the text format would read
-- backslashes as escapes. awk, on the way in, numbers the lines (the SPEC's
-- physical line numbers, blank lines included) and takes the line end off:
-- COPY wants one line end for the whole file, the SPEC allows LF or CRLF on
-- each line. A blank line arrives as NULL.
CREATE UNLOGGED TABLE raw_week (n bigint, line text);
CREATE UNLOGGED TABLE raw_dossiers (n bigint, line text);
CREATE UNLOGGED TABLE raw_communes (line text);
CREATE UNLOGGED TABLE raw_motifs (line text);
CREATE UNLOGGED TABLE raw_coverage (line text);
-- the week: one CR before the LF ends the line (lib/reader.c); the export:
-- every trailing CR goes (lib/dossier_index.c)
\copy raw_week FROM PROGRAM 'awk ''{ sub(/\r$/, ""); print NR "\037" $0 }'' week.csv' WITH (FORMAT csv, DELIMITER E'\x1f', QUOTE E'\x01')
\copy raw_dossiers FROM PROGRAM 'awk ''{ sub(/\r+$/, ""); print NR "\037" $0 }'' dossiers.csv' WITH (FORMAT csv, DELIMITER E'\x1f', QUOTE E'\x01')
\copy raw_communes FROM 'communes.csv' WITH (FORMAT csv, DELIMITER E'\x1f', QUOTE E'\x01', HEADER)
\copy raw_motifs FROM 'motifs.csv' WITH (FORMAT csv, DELIMITER E'\x1f', QUOTE E'\x01', HEADER)
\copy raw_coverage FROM 'coverage.csv' WITH (FORMAT csv, DELIMITER E'\x1f', QUOTE E'\x01', HEADER)

-- The reference files: `;`-separated, fields trimmed, blank lines skipped;
-- the last field of motifs.csv (free text) may hold `;`.
CREATE UNLOGGED TABLE communes AS
SELECT btrim(split_part(line, ';', 1), E' \t') AS code_insee,
       btrim(split_part(line, ';', 2), E' \t') AS code_postal
FROM raw_communes WHERE btrim(line, E' \t\r') <> '';
CREATE UNLOGGED TABLE motifs AS
SELECT DISTINCT btrim(split_part(line, ';', 1), E' \t') AS code
FROM raw_motifs WHERE btrim(line, E' \t\r') <> '';
CREATE UNLOGGED TABLE coverage AS
SELECT btrim(split_part(line, ';', 1), E' \t') AS ml_code,
       btrim(split_part(line, ';', 3), E' \t\r') AS code_postal
FROM raw_coverage WHERE btrim(line, E' \t\r') <> '';
-- the keys a DBA declares on reference tables
CREATE INDEX ON communes (code_insee, code_postal);
CREATE UNIQUE INDEX ON motifs (code);
CREATE INDEX ON coverage (code_postal, ml_code);

-- N() of SPEC §4: the product's table of the non-ASCII characters that keep
-- something (fold.sql, generated from lib/normalize.c), made into one SQL
-- function: the multi-letter ones (Æ -> AE...) by replace(), the others by
-- one translate(), then ASCII upper-case, then everything but A-Z and 0-9
-- dropped. Built from the table, so the rules stay written once.
CREATE TABLE fold (ch text PRIMARY KEY, rep text);
\i fold.sql
SELECT format($f$CREATE FUNCTION aij_n(s text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN regexp_replace(upper(translate(%s, %L, %L)), '[^A-Z0-9]+', '', 'g')$f$,
  repeat('replace(', (SELECT count(*)::int FROM fold WHERE length(rep) > 1)) || 's' ||
    (SELECT string_agg(format(', %L, %L)', ch, rep), '' ORDER BY ch) FROM fold WHERE length(rep) > 1),
  (SELECT string_agg(ch, '' ORDER BY ch) FROM fold WHERE length(rep) = 1),
  (SELECT string_agg(rep, '' ORDER BY ch) FROM fold WHERE length(rep) = 1))
\gexec

-- A date of the files: exactly DD/MM/YYYY, a real day of the proleptic
-- Gregorian calendar, year >= 1 (lib/date.c). The CASE guards the cast.
-- Inlined by the planner (one SQL expression; not STRICT, which would
-- prevent it, as the CASE is not strict).
CREATE FUNCTION aij_date_ok(d text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN d ~ '^[0-9]{2}/[0-9]{2}/[0-9]{4}$' AND substr(d, 7) <> '0000' THEN
    substr(d, 1, 2) BETWEEN '01' AND CASE substr(d, 4, 2)
      WHEN '01' THEN '31' WHEN '03' THEN '31' WHEN '05' THEN '31' WHEN '07' THEN '31'
      WHEN '08' THEN '31' WHEN '10' THEN '31' WHEN '12' THEN '31'
      WHEN '04' THEN '30' WHEN '06' THEN '30' WHEN '09' THEN '30' WHEN '11' THEN '30'
      WHEN '02' THEN CASE WHEN substr(d, 7)::int % 4 = 0
                             AND (substr(d, 7)::int % 100 <> 0 OR substr(d, 7)::int % 400 = 0)
                          THEN '29' ELSE '28' END
      ELSE '' END
  ELSE false END;
-- DD/MM/YYYY -> YYYYMMDD, which sorts as the dates do
CREATE FUNCTION aij_ymd(d text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN substr(d, 7) || substr(d, 4, 2) || substr(d, 1, 2);

-- 2. The week's records (SPEC §2.1) --------------------------------------------------------
-- A line without its leading BOM (line 1), blank lines skipped, split on
-- `;`, each field trimmed of spaces and tabs (a missing field is empty).
-- OFFSET 0 keeps the subquery whole: the split is computed once per line,
-- not once per field that uses it.
CREATE UNLOGGED TABLE rec AS
SELECT n, cardinality(f) = 12 AND octet_length(line) <= 65536 AS ok01,
  coalesce(btrim(f[1], E' \t'), '') AS sigma, coalesce(btrim(f[2], E' \t'), '') AS code_regional,
  coalesce(btrim(f[3], E' \t'), '') AS pe, coalesce(btrim(f[4], E' \t'), '') AS nom,
  coalesce(btrim(f[5], E' \t'), '') AS prenom, coalesce(btrim(f[6], E' \t'), '') AS dob,
  coalesce(btrim(f[7], E' \t'), '') AS insee, coalesce(btrim(f[9], E' \t'), '') AS debut,
  coalesce(btrim(f[10], E' \t'), '') AS fin_prevue, coalesce(btrim(f[11], E' \t'), '') AS fin_reelle,
  coalesce(btrim(f[12], E' \t'), '') AS motif
FROM (
  SELECT n, line, string_to_array(line, ';') AS f
  FROM (SELECT n, CASE WHEN n = 1 AND starts_with(line, U&'\FEFF') THEN substr(line, 2)
                       ELSE line END AS line
        FROM raw_week) w
  WHERE btrim(line, E' \t\r') <> ''
  OFFSET 0
) s;
DROP TABLE raw_week;

-- 3. Validation (SPEC §3): the first rule that fails gives the code; the
-- header (the first non-blank line, when its first field is
-- identifiant_sigma) is not a record.
CREATE UNLOGGED TABLE val AS
SELECT n, sigma, pe, nom, prenom, dob, insee,
  CASE
    WHEN NOT ok01 THEN '01'
    WHEN sigma = '' OR code_regional = '' OR nom = '' OR prenom = ''
      OR NOT aij_date_ok(dob) THEN '07'
    WHEN NOT aij_date_ok(debut)
      OR fin_prevue <> '' AND (NOT aij_date_ok(fin_prevue) OR aij_ymd(fin_prevue) < aij_ymd(debut))
      OR fin_reelle <> '' AND (NOT aij_date_ok(fin_reelle) OR aij_ymd(fin_reelle) < aij_ymd(debut))
      THEN '06'
    WHEN insee = '' OR insee NOT IN (SELECT code_insee FROM communes) THEN '08'
    WHEN fin_reelle <> '' AND (motif = '' OR motif NOT IN (SELECT code FROM motifs)) THEN '09'
  END AS vcode
FROM rec
WHERE NOT (n = (SELECT min(n) FROM rec) AND lower(sigma) = 'identifiant_sigma');
DROP TABLE rec;

-- 4. The dossier export (SPEC §2.3): after its header, the rows of exactly
-- seven fields, trimmed; a row without a dossier_id (or one of 128 bytes or
-- more, or with a tab), or without a valid date_naissance, is malformed and
-- left out (lib/dossier_index.c). The numéros PE compared upper-cased.
DO $$
BEGIN
  IF (SELECT array_agg(lower(btrim(h, E' \t')))
      FROM raw_dossiers, unnest(string_to_array(ltrim(line, U&'\FEFF'), ';')) h
      WHERE n = 1)
     IS DISTINCT FROM ARRAY['dossier_id', 'ml_code', 'nom_naissance', 'prenom',
                            'date_naissance', 'pe_cotraitance', 'pe_complement'] THEN
    RAISE EXCEPTION 'dossiers.csv: line 1: the header is not dossier_id;ml_code;nom_naissance;prenom;date_naissance;pe_cotraitance;pe_complement';
  END IF;
END $$;
CREATE UNLOGGED TABLE dos AS
SELECT id, nom, prenom, dob, p1, p2
FROM (
  SELECT btrim(f[1], E' \t') AS id, btrim(f[3], E' \t') AS nom, btrim(f[4], E' \t') AS prenom,
    btrim(f[5], E' \t') AS dob, upper(btrim(f[6], E' \t')) AS p1, upper(btrim(f[7], E' \t')) AS p2
  FROM (SELECT string_to_array(line, ';') AS f FROM raw_dossiers WHERE n > 1 OFFSET 0) s
  WHERE cardinality(f) = 7
  OFFSET 0
) d
WHERE id <> '' AND octet_length(id) < 128 AND strpos(id, E'\t') = 0 AND aij_date_ok(dob);
DROP TABLE raw_dossiers;

-- 5. N() once per distinct name, then the keys of both sides -----------------------------------
CREATE UNLOGGED TABLE names AS
SELECT s, aij_n(s) AS n
FROM (SELECT nom FROM dos UNION SELECT prenom FROM dos
      UNION SELECT nom FROM val WHERE vcode IS NULL
      UNION SELECT prenom FROM val WHERE vcode IS NULL) u(s);
CREATE UNLOGGED TABLE dk AS
SELECT d.id, d.p1, d.p2, a.n AS nn, b.n AS np, d.dob
FROM dos d JOIN names a ON a.s = d.nom JOIN names b ON b.s = d.prenom;
DROP TABLE dos;
CREATE UNLOGGED TABLE q AS
SELECT v.n, upper(v.pe) AS p, a.n AS nn, b.n AS np, v.dob
FROM val v JOIN names a ON a.s = v.nom JOIN names b ON b.s = v.prenom
WHERE v.vcode IS NULL;
ANALYZE dk;
ANALYZE q;

-- 6. The cascade (SPEC §4): one join per step, on the lines the steps
-- before left open; per key asked, how many dossiers have it, and the only
-- one's id and N(nom).
-- Step 1, every line with a numéro PE: dossiers by pe_cotraitance.
CREATE UNLOGGED TABLE c1 AS
SELECT q.n, CASE WHEN k.c IS NULL THEN '05' WHEN k.c > 1 THEN '02'
                 WHEN k.nn <> q.nn THEN '03' ELSE 'ok' END AS s1, k.id
FROM q LEFT JOIN (SELECT p1 AS p, count(*) AS c, min(id) AS id, min(nn) AS nn
                  FROM dk WHERE p1 <> '' GROUP BY p1) k ON k.p = q.p
WHERE q.p <> '';
-- Step 2, the lines step 1 left open: dossiers by pe_complement.
CREATE UNLOGGED TABLE c2 AS
SELECT q.n, CASE WHEN k.c IS NULL THEN '05' WHEN k.c > 1 THEN '02'
                 WHEN k.nn <> q.nn THEN '03' ELSE 'ok' END AS s2, k.id
FROM c1 JOIN q ON q.n = c1.n
     LEFT JOIN (SELECT p2 AS p, count(*) AS c, min(id) AS id, min(nn) AS nn
                FROM dk
                WHERE p2 IN (SELECT q.p FROM c1 JOIN q ON q.n = c1.n WHERE c1.s1 <> 'ok')
                GROUP BY p2) k ON k.p = q.p
WHERE c1.s1 <> 'ok';
-- Step 3, the lines without a numéro PE and those step 2 left open:
-- dossiers by N(nom), N(prenom) and date_naissance.
CREATE UNLOGGED TABLE open3 AS
SELECT q.n, q.nn, q.np, q.dob FROM q WHERE q.p = ''
UNION ALL
SELECT q.n, q.nn, q.np, q.dob FROM c2 JOIN q ON q.n = c2.n WHERE c2.s2 <> 'ok';
ANALYZE open3;
CREATE UNLOGGED TABLE c3 AS
SELECT o.n, CASE WHEN k.c IS NULL THEN '05' WHEN k.c > 1 THEN '04' ELSE 'ok' END AS s3, k.id
FROM open3 o
     LEFT JOIN (SELECT nn, np, dob, count(*) AS c, min(id) AS id
                FROM dk
                WHERE (nn, np, dob) IN (SELECT nn, np, dob FROM open3)
                GROUP BY nn, np, dob) k
       ON k.nn = o.nn AND k.np = o.np AND k.dob = o.dob;

-- Every line's outcome: integrated at a step, or failed with its codes.
CREATE UNLOGGED TABLE integ AS
SELECT n, id AS dossier_id, 1 AS step FROM c1 WHERE s1 = 'ok'
UNION ALL SELECT n, id, 2 FROM c2 WHERE s2 = 'ok'
UNION ALL SELECT n, id, 3 FROM c3 WHERE s3 = 'ok';
CREATE UNLOGGED TABLE failed AS
SELECT n, vcode AS codes FROM val WHERE vcode IS NOT NULL
UNION ALL
SELECT c3.n, CASE WHEN c1.n IS NULL THEN c3.s3 ELSE c1.s1 || '/' || c2.s2 || '/' || c3.s3 END
FROM c3 LEFT JOIN c1 ON c1.n = c3.n LEFT JOIN c2 ON c2.n = c3.n
WHERE c3.s3 <> 'ok';

-- 7. Routing (SPEC §5): the MLs whose zone holds a postal code of the
-- line's commune; no usable commune (01, 08) or no zone: national. -------------------------
CREATE UNLOGGED TABLE rep AS
SELECT f.n, coalesce(r.ml, '_national') AS ml,
       l.sigma || ';' || l.pe || ';' || l.nom || ';' || l.prenom || ';' || l.dob || ';' ||
       l.insee || ';' || f.codes AS row
FROM failed f JOIN val l ON l.n = f.n
     LEFT JOIN (SELECT DISTINCT f.n, v.ml_code AS ml
                FROM failed f JOIN val l ON l.n = f.n
                     JOIN communes c ON c.code_insee = l.insee
                     JOIN coverage v ON v.code_postal = c.code_postal
                WHERE f.codes NOT IN ('01', '08')) r ON r.n = f.n;
CREATE INDEX ON rep (ml, n);
ANALYZE rep;

-- 8. Outputs (psql writes them: unaligned rows, one a line) -------------------------------------
\o integrated.csv
SELECT 'line;dossier_id;step';
SELECT n || ';' || dossier_id || ';' || step FROM integ ORDER BY n;
-- the reports: UTF-8 with BOM, CRLF (each row ends with its CR, psql adds
-- the LF); one file a ML, by a psql script this query writes
\o reports.psql
SELECT format(E'\\o reports/%s.csv\n'
              'SELECT %L || E''\\r'';\n'
              'SELECT row || E''\\r'' FROM rep WHERE ml = %L ORDER BY n;',
              ml, U&'\FEFF' || 'Identifiant SIGMA;Code Pôle Emploi;Nom de naissance;Prénom;Date de naissance;Commune INSEE de résidence;Codes retour', ml)
FROM (SELECT DISTINCT ml FROM rep) m ORDER BY ml;
\o
\i reports.psql
\o summary.json
WITH codes(c) AS (VALUES ('01'), ('02'), ('03'), ('04'), ('05'), ('06'), ('07'), ('08'), ('09'), ('10')),
by_code AS (
  SELECT c, (SELECT count(*) FROM failed WHERE strpos('/' || codes || '/', '/' || c || '/') > 0) AS k
  FROM codes
), by_step AS (
  SELECT s, (SELECT count(*) FROM integ WHERE step = s) AS k FROM generate_series(1, 3) s
), reports AS (
  SELECT ml, count(*) AS k FROM rep GROUP BY ml
)
SELECT E'{\n'
  || '  "by_code": ' || coalesce(E'{\n' || (SELECT string_agg(format('    "%s": %s', c, k), E',\n' ORDER BY c) FROM by_code WHERE k > 0) || E'\n  }', '{}') || E',\n'
  || E'  "by_step": {\n' || (SELECT string_agg(format('    "%s": %s', s, k), E',\n' ORDER BY s) FROM by_step) || E'\n  },\n'
  || '  "failed": ' || (SELECT count(*) FROM failed) || E',\n'
  || '  "integrated": ' || (SELECT count(*) FROM integ) || E',\n'
  || '  "lines": ' || (SELECT count(*) FROM failed) + (SELECT count(*) FROM integ) || E',\n'
  || '  "reports": ' || coalesce(E'{\n' || (SELECT string_agg(format('    "%s": %s', ml, k), E',\n' ORDER BY ml) FROM reports) || E'\n  }', '{}') || E',\n'
  || '  "run_id": "' || :'run_id' || E'"\n}';
\o
