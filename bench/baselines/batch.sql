-- The weekly job as one SQLite batch (bench/baselines/sqlite-batch runs it):
-- what a data team would write instead of the pipeline. Same rules as the
-- product (SPEC §2-§7), same outputs byte for byte.
--
-- Runs in the staging folder, where the driver put week.num and dossiers.num
-- (see 1. Import), communes.csv, motifs.csv, coverage.csv and params(run_id).
-- Writes reports/<ml>.csv, reports/_national.csv, integrated.csv, summary.json.
-- Inputs are taken as UTF-8 (no Windows-1252 fallback, no 64 KiB line cut).
--
-- Written for speed as a data engineer would (profiled statement by statement,
-- issue 6): .import splits the fields; every expression is evaluated once per
-- row (SQLite re-evaluates a CTE's or subquery's column at each use: values
-- tested several times are stored first); N() once per distinct name; look-up
-- tables keyed and built after the bulk load; the cascade one join per step on
-- the lines still open; row ids in line order, so that nothing is sorted twice.
-- (the pragmas print their new value: not into the outputs)
.output /dev/null
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA temp_store = MEMORY;
PRAGMA cache_size = -1000000;
.output stdout

-- 1. Import ------------------------------------------------------------------------------
-- sqlite3's .import splits the fields itself (ascii mode: ';' between fields,
-- no quoting, as the files are defined). The driver has put each line as
-- "<physical line number>;<line>;\037": .import skips empty lines, which would
-- shift the numbering, and the sentinel field \037 shows the line's field
-- count: for a well-formed line it lands in column s; with fewer fields it
-- lands earlier (the rest NULL), with more it is pushed out (s then holds a
-- data field). .import warns on stderr about such lines; the driver drops
-- those warnings.
CREATE TABLE raw_week(n INTEGER PRIMARY KEY, f0 TEXT, f1 TEXT, f2 TEXT, f3 TEXT, f4 TEXT,
  f5 TEXT, f6 TEXT, f7 TEXT, f8 TEXT, f9 TEXT, f10 TEXT, f11 TEXT, s TEXT);
CREATE TABLE raw_dossiers(n INTEGER PRIMARY KEY, f0 TEXT, f1 TEXT, f2 TEXT, f3 TEXT, f4 TEXT,
  f5 TEXT, f6 TEXT, s TEXT);
.mode ascii
.separator ";" "\n"
.import week.num raw_week
.import dossiers.num raw_dossiers
CREATE TABLE communes(code_insee TEXT, code_postal TEXT, nom TEXT);
CREATE TABLE motifs(code TEXT, libelle TEXT);
CREATE TABLE coverage(ml_code TEXT, ml_nom TEXT, code_postal TEXT);
.mode csv
.separator ";"
.import --skip 1 communes.csv communes
.import --skip 1 motifs.csv motifs
.import --skip 1 coverage.csv coverage
CREATE INDEX communes_insee ON communes(code_insee, code_postal);
CREATE INDEX coverage_cp ON coverage(code_postal, ml_code);
CREATE INDEX motifs_code ON motifs(code);

CREATE TABLE fold(ch TEXT PRIMARY KEY, rep TEXT) WITHOUT ROWID;
.read fold.sql

-- 2. The week's records (SPEC §2.1) --------------------------------------------------------
-- A line is its text without a leading BOM (line 1) and trailing CRs; blank
-- lines are skipped; field i is there when something (a field, the sentinel)
-- follows it; the line's last field loses the CRs; every field is trimmed.
CREATE TABLE rec(n INTEGER PRIMARY KEY, cnt12 INTEGER, too_long INTEGER, sigma TEXT,
  code_regional TEXT, pe TEXT, nom TEXT, prenom TEXT, dob TEXT, insee TEXT, debut TEXT,
  fin_prevue TEXT, fin_reelle TEXT, motif TEXT);
INSERT INTO rec
WITH w AS (
  SELECT n, s IS char(31) AS cnt12,
    CASE WHEN n = 1 AND substr(f0, 1, 1) = char(65279) THEN substr(f0, 2) ELSE f0 END AS f0,
    f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, s
  FROM raw_week
), t AS (
  SELECT n, cnt12,
    CASE WHEN f1 IS NULL THEN NULL WHEN f2 IS NULL THEN rtrim(f0, char(13)) ELSE f0 END AS g0,
    CASE WHEN f2 IS NULL THEN NULL WHEN f3 IS NULL THEN rtrim(f1, char(13)) ELSE f1 END AS g1,
    CASE WHEN f3 IS NULL THEN NULL WHEN f4 IS NULL THEN rtrim(f2, char(13)) ELSE f2 END AS g2,
    CASE WHEN f4 IS NULL THEN NULL WHEN f5 IS NULL THEN rtrim(f3, char(13)) ELSE f3 END AS g3,
    CASE WHEN f5 IS NULL THEN NULL WHEN f6 IS NULL THEN rtrim(f4, char(13)) ELSE f4 END AS g4,
    CASE WHEN f6 IS NULL THEN NULL WHEN f7 IS NULL THEN rtrim(f5, char(13)) ELSE f5 END AS g5,
    CASE WHEN f7 IS NULL THEN NULL WHEN f8 IS NULL THEN rtrim(f6, char(13)) ELSE f6 END AS g6,
    CASE WHEN f9 IS NULL THEN NULL WHEN f10 IS NULL THEN rtrim(f8, char(13)) ELSE f8 END AS g8,
    CASE WHEN f10 IS NULL THEN NULL WHEN f11 IS NULL THEN rtrim(f9, char(13)) ELSE f9 END AS g9,
    CASE WHEN f11 IS NULL THEN NULL WHEN s IS NULL THEN rtrim(f10, char(13)) ELSE f10 END AS g10,
    CASE WHEN cnt12 THEN rtrim(f11, char(13)) WHEN s IS NULL THEN NULL ELSE f11 END AS g11,
    CASE WHEN cnt12 THEN length(CAST(f0 AS BLOB)) + length(CAST(f1 AS BLOB))
      + length(CAST(f2 AS BLOB)) + length(CAST(f3 AS BLOB)) + length(CAST(f4 AS BLOB))
      + length(CAST(f5 AS BLOB)) + length(CAST(f6 AS BLOB)) + length(CAST(f7 AS BLOB))
      + length(CAST(f8 AS BLOB)) + length(CAST(f9 AS BLOB)) + length(CAST(f10 AS BLOB))
      + length(CAST(rtrim(f11, char(13)) AS BLOB)) + 11 > 65536 ELSE 0 END AS too_long
  FROM w
  -- not a blank line: more than one field, or one that is not only blanks
  WHERE f2 IS NOT NULL OR trim(rtrim(f0, char(13)), ' ' || char(9)) <> ''
)
SELECT n, cnt12, too_long,
  coalesce(trim(g0, ' ' || char(9)), ''), coalesce(trim(g1, ' ' || char(9)), ''),
  coalesce(trim(g2, ' ' || char(9)), ''), coalesce(trim(g3, ' ' || char(9)), ''),
  coalesce(trim(g4, ' ' || char(9)), ''), coalesce(trim(g5, ' ' || char(9)), ''),
  coalesce(trim(g6, ' ' || char(9)), ''), coalesce(trim(g8, ' ' || char(9)), ''),
  coalesce(trim(g9, ' ' || char(9)), ''), coalesce(trim(g10, ' ' || char(9)), ''),
  coalesce(trim(g11, ' ' || char(9)), '')
FROM t;
DROP TABLE raw_week;
-- the header: the first non-blank line, when its first field is identifiant_sigma
DELETE FROM rec WHERE n = (SELECT min(n) FROM rec) AND lower(sigma) = 'identifiant_sigma';

-- 3. Validation (SPEC §3): a date is DD/MM/YYYY, year >= 1, a real day of the
-- proleptic Gregorian calendar: its DD/MM among the 365 of a common year, or
-- 29/02 of a leap year (a look-up, cheaper than date() on every field). The
-- checks are written out in the CASE, which stops at the first code that
-- applies (named in a CTE, the same checks measured 40% slower). ------------------
CREATE TABLE daymonth(dm TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT INTO daymonth
WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 364)
SELECT strftime('%d/%m', '2001-01-01', '+' || i || ' days') FROM k;
CREATE TABLE val(n INTEGER PRIMARY KEY, sigma TEXT, pe TEXT, nom TEXT, prenom TEXT,
  dob TEXT, insee TEXT, vcode TEXT);
INSERT INTO val
SELECT n, sigma, pe, nom, prenom, dob, insee,
  CASE
    WHEN NOT cnt12 OR too_long THEN '01'
    WHEN sigma = '' OR code_regional = '' OR nom = '' OR prenom = ''
      OR NOT (dob GLOB '[0-9][0-9]/[0-9][0-9]/[0-9][0-9][0-9][0-9]' AND substr(dob, 7) <> '0000'
              AND (substr(dob, 1, 5) IN daymonth
                   OR substr(dob, 1, 5) = '29/02' AND substr(dob, 7) % 4 = 0
                      AND (substr(dob, 7) % 100 <> 0 OR substr(dob, 7) % 400 = 0))) THEN '07'
    WHEN NOT (debut GLOB '[0-9][0-9]/[0-9][0-9]/[0-9][0-9][0-9][0-9]' AND substr(debut, 7) <> '0000'
              AND (substr(debut, 1, 5) IN daymonth
                   OR substr(debut, 1, 5) = '29/02' AND substr(debut, 7) % 4 = 0
                      AND (substr(debut, 7) % 100 <> 0 OR substr(debut, 7) % 400 = 0)))
      OR fin_prevue <> ''
         AND (NOT (fin_prevue GLOB '[0-9][0-9]/[0-9][0-9]/[0-9][0-9][0-9][0-9]' AND substr(fin_prevue, 7) <> '0000'
                   AND (substr(fin_prevue, 1, 5) IN daymonth
                        OR substr(fin_prevue, 1, 5) = '29/02' AND substr(fin_prevue, 7) % 4 = 0
                           AND (substr(fin_prevue, 7) % 100 <> 0 OR substr(fin_prevue, 7) % 400 = 0)))
              OR substr(fin_prevue, 7) || substr(fin_prevue, 4, 2) || substr(fin_prevue, 1, 2) < substr(debut, 7) || substr(debut, 4, 2) || substr(debut, 1, 2))
      OR fin_reelle <> ''
         AND (NOT (fin_reelle GLOB '[0-9][0-9]/[0-9][0-9]/[0-9][0-9][0-9][0-9]' AND substr(fin_reelle, 7) <> '0000'
                   AND (substr(fin_reelle, 1, 5) IN daymonth
                        OR substr(fin_reelle, 1, 5) = '29/02' AND substr(fin_reelle, 7) % 4 = 0
                           AND (substr(fin_reelle, 7) % 100 <> 0 OR substr(fin_reelle, 7) % 400 = 0)))
              OR substr(fin_reelle, 7) || substr(fin_reelle, 4, 2) || substr(fin_reelle, 1, 2) < substr(debut, 7) || substr(debut, 4, 2) || substr(debut, 1, 2)) THEN '06'
    WHEN insee = '' OR NOT EXISTS (SELECT 1 FROM communes c WHERE c.code_insee = insee) THEN '08'
    WHEN fin_reelle <> '' AND (motif = '' OR NOT EXISTS (SELECT 1 FROM motifs m WHERE m.code = motif)) THEN '09'
  END
FROM rec;
DROP TABLE rec;

-- 4. The dossier export (SPEC §2.3): every row trimmed once into the table, then
-- the malformed ones deleted (tested on stored values, not re-derived ones) -------------
CREATE TABLE dos(id TEXT, nom TEXT, prenom TEXT, dob TEXT, p1 TEXT, p2 TEXT);
INSERT INTO dos
SELECT trim(f0, ' ' || char(9)), trim(f2, ' ' || char(9)), trim(f3, ' ' || char(9)),
  trim(f4, ' ' || char(9)), upper(trim(f5, ' ' || char(9))),
  upper(trim(rtrim(f6, char(13)), ' ' || char(9)))
FROM raw_dossiers WHERE n > 1 AND s IS char(31);
DELETE FROM dos
WHERE NOT (id <> '' AND length(CAST(id AS BLOB)) < 128 AND instr(id, char(9)) = 0
  AND dob GLOB '[0-9][0-9]/[0-9][0-9]/[0-9][0-9][0-9][0-9]' AND substr(dob, 7) <> '0000'
  AND (substr(dob, 1, 5) IN daymonth OR substr(dob, 1, 5) = '29/02' AND substr(dob, 7) % 4 = 0
       AND (substr(dob, 7) % 100 <> 0 OR substr(dob, 7) % 400 = 0)));
DROP TABLE raw_dossiers;

-- 5. N() of SPEC §4, once per distinct name ---------------------------------------------
CREATE TABLE names(s TEXT PRIMARY KEY, n TEXT) WITHOUT ROWID;
INSERT INTO names
WITH RECURSIVE src(s) AS (
  SELECT nom FROM dos UNION SELECT prenom FROM dos
  UNION SELECT nom FROM val WHERE vcode IS NULL UNION SELECT prenom FROM val WHERE vcode IS NULL
), it(s, i, acc) AS (
  SELECT s, 1, '' FROM src
  UNION ALL
  SELECT s, i + 1, acc || CASE WHEN substr(s, i, 1) GLOB '[A-Za-z0-9]' THEN upper(substr(s, i, 1))
                          ELSE coalesce((SELECT rep FROM fold WHERE ch = substr(s, i, 1)), '') END
  FROM it WHERE i <= length(s)
)
SELECT s, acc FROM it WHERE i = length(s) + 1;

-- the keys of both sides, names normalised once per row
CREATE TABLE dk AS
SELECT d.id, d.p1, d.p2, a.n AS nn, b.n AS np, d.dob
FROM dos d JOIN names a ON a.s = d.nom JOIN names b ON b.s = d.prenom;
DROP TABLE dos;
CREATE TABLE q(n INTEGER PRIMARY KEY, p TEXT, nn TEXT, np TEXT, dob TEXT);
INSERT INTO q
SELECT v.n, upper(v.pe), a.n, b.n, v.dob
FROM val v JOIN names a ON a.s = v.nom JOIN names b ON b.s = v.prenom
WHERE v.vcode IS NULL;

-- 6. The cascade (SPEC §4): one join per step, on the lines the steps before left open.
-- Step 1 for every line with a P: the dossiers indexed by pe_cotraitance (covering),
-- each line's matches counted by a join grouped in line order (no sort). Steps 2
-- and 3 on the few lines left: look-up tables holding, per key asked by those
-- lines (a semi-join on a small keyed table), how many dossiers and the only
-- one's id and N(nom). -------------------------------------------------------------------
CREATE INDEX dk_p1 ON dk(p1, nn, id) WHERE p1 <> '';
CREATE TABLE c1(n INTEGER PRIMARY KEY, s1 TEXT, id TEXT);
INSERT INTO c1
SELECT n, CASE WHEN c = 0 THEN '05' WHEN c > 1 THEN '02' WHEN dnn <> qnn THEN '03' ELSE 'ok' END, id
FROM (SELECT q.n, q.nn AS qnn, count(d.p1) AS c, min(d.id) AS id, min(d.nn) AS dnn
      FROM q LEFT JOIN dk d ON d.p1 = q.p AND d.p1 <> '' WHERE q.p <> '' GROUP BY q.n);
DROP INDEX dk_p1;

CREATE TABLE open2(p TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT OR IGNORE INTO open2 SELECT q.p FROM c1 JOIN q ON q.n = c1.n WHERE c1.s1 <> 'ok';
CREATE TABLE pe2(p TEXT PRIMARY KEY, c INTEGER, id TEXT, nn TEXT) WITHOUT ROWID;
INSERT INTO pe2 SELECT p2, count(*), min(id), min(nn) FROM dk WHERE p2 IN open2 GROUP BY p2;
CREATE TABLE c2(n INTEGER PRIMARY KEY, s2 TEXT, id TEXT);
INSERT INTO c2
SELECT q.n, CASE WHEN y.p IS NULL THEN '05' WHEN y.c > 1 THEN '02'
                 WHEN y.nn <> q.nn THEN '03' ELSE 'ok' END, y.id
FROM c1 JOIN q ON q.n = c1.n LEFT JOIN pe2 y ON y.p = q.p WHERE c1.s1 <> 'ok';

-- step 3 for the lines with no P and those steps 1 and 2 left open
CREATE TABLE open3(n INTEGER PRIMARY KEY);
INSERT INTO open3 SELECT n FROM q WHERE p = '' UNION ALL SELECT n FROM c2 WHERE s2 <> 'ok'
  ORDER BY 1;
CREATE TABLE k3(nn TEXT, np TEXT, dob TEXT, PRIMARY KEY (nn, np, dob)) WITHOUT ROWID;
INSERT OR IGNORE INTO k3 SELECT q.nn, q.np, q.dob FROM open3 JOIN q ON q.n = open3.n;
CREATE TABLE ident(nn TEXT, np TEXT, dob TEXT, c INTEGER, id TEXT, PRIMARY KEY (nn, np, dob))
  WITHOUT ROWID;
INSERT INTO ident SELECT dk.nn, dk.np, dk.dob, count(*), min(dk.id)
  FROM dk JOIN k3 ON k3.nn = dk.nn AND k3.np = dk.np AND k3.dob = dk.dob
  GROUP BY dk.nn, dk.np, dk.dob;
CREATE TABLE c3(n INTEGER PRIMARY KEY, s3 TEXT, id TEXT);
INSERT INTO c3
SELECT q.n, CASE WHEN z.c IS NULL THEN '05' WHEN z.c > 1 THEN '04' ELSE 'ok' END, z.id
FROM open3 JOIN q ON q.n = open3.n
     LEFT JOIN ident z ON z.nn = q.nn AND z.np = q.np AND z.dob = q.dob;

-- every line's outcome: integrated at a step, or failed with its codes
CREATE TABLE integ(n INTEGER PRIMARY KEY, dossier_id TEXT, step INTEGER);
INSERT INTO integ
SELECT n, id, 1 FROM c1 WHERE s1 = 'ok'
UNION ALL SELECT n, id, 2 FROM c2 WHERE s2 = 'ok'
UNION ALL SELECT n, id, 3 FROM c3 WHERE s3 = 'ok'
ORDER BY 1;
CREATE TABLE failed(n INTEGER PRIMARY KEY, codes TEXT);
INSERT INTO failed
SELECT n, vcode FROM val WHERE vcode IS NOT NULL
UNION ALL
SELECT c3.n, CASE WHEN c1.n IS NULL THEN c3.s3 ELSE c1.s1 || '/' || c2.s2 || '/' || c3.s3 END
FROM c3 LEFT JOIN c1 ON c1.n = c3.n LEFT JOIN c2 ON c2.n = c3.n
WHERE c3.s3 <> 'ok'
ORDER BY 1;

-- 7. Routing (SPEC §5) --------------------------------------------------------------------------
CREATE TABLE rep AS
WITH routed AS (
  SELECT DISTINCT f.n, v.ml_code AS ml
  FROM failed f JOIN val l ON l.n = f.n JOIN communes c ON c.code_insee = l.insee
       JOIN coverage v ON v.code_postal = c.code_postal
  WHERE f.codes <> '01' AND f.codes <> '08'
)
SELECT f.n, coalesce(r.ml, '_national') AS ml,
       l.sigma || ';' || l.pe || ';' || l.nom || ';' || l.prenom || ';' || l.dob || ';' ||
       l.insee || ';' || f.codes AS row
FROM failed f JOIN val l ON l.n = f.n LEFT JOIN routed r ON r.n = f.n;
CREATE INDEX rep_ml ON rep(ml, n);

-- 8. Outputs -------------------------------------------------------------------------------------
.mode list
.headers off
.separator "" "\n"
.output integrated.csv
SELECT 'line;dossier_id;step';
SELECT n || ';' || dossier_id || ';' || step FROM integ ORDER BY n;
.output reports.sql
SELECT '.output reports/' || ml || '.csv' || char(10) ||
       'SELECT char(65279) || ''Identifiant SIGMA;Code Pôle Emploi;Nom de naissance;Prénom;Date de naissance;Commune INSEE de résidence;Codes retour'';' ||
       char(10) || 'SELECT row FROM rep WHERE ml = ''' || ml || ''' ORDER BY n;'
FROM (SELECT DISTINCT ml FROM rep ORDER BY ml);
.output stdout
.separator "" "\r\n"
.read reports.sql
.separator "" "\n"
.output summary.json
WITH codes(c) AS (VALUES ('01'), ('02'), ('03'), ('04'), ('05'), ('06'), ('07'), ('08'), ('09'), ('10')),
by_code AS (
  SELECT c, (SELECT count(*) FROM failed WHERE instr('/' || codes || '/', '/' || c || '/') > 0) AS k
  FROM codes
), bc AS (SELECT group_concat('    "' || c || '": ' || k, ',' || char(10)) AS t FROM (SELECT * FROM by_code WHERE k > 0 ORDER BY c)),
bs AS (SELECT group_concat('    "' || s || '": ' || (SELECT count(*) FROM integ WHERE step = s), ',' || char(10)) AS t
       FROM (SELECT 1 AS s UNION ALL SELECT 2 UNION ALL SELECT 3)),
rp AS (SELECT group_concat('    "' || ml || '": ' || k, ',' || char(10)) AS t
       FROM (SELECT ml, count(*) AS k FROM rep GROUP BY ml ORDER BY ml))
SELECT '{' || char(10) ||
  '  "by_code": ' || CASE WHEN bc.t IS NULL THEN '{}' ELSE '{' || char(10) || bc.t || char(10) || '  }' END || ',' || char(10) ||
  '  "by_step": {' || char(10) || bs.t || char(10) || '  },' || char(10) ||
  '  "failed": ' || (SELECT count(*) FROM failed) || ',' || char(10) ||
  '  "integrated": ' || (SELECT count(*) FROM integ) || ',' || char(10) ||
  '  "lines": ' || ((SELECT count(*) FROM failed) + (SELECT count(*) FROM integ)) || ',' || char(10) ||
  '  "reports": ' || CASE WHEN rp.t IS NULL THEN '{}' ELSE '{' || char(10) || rp.t || char(10) || '  }' END || ',' || char(10) ||
  '  "run_id": "' || (SELECT run_id FROM params) || '"' || char(10) || '}'
FROM bc, bs, rp;
.output stdout
