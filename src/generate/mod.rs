//! `generate`: synthetic case exports in the canonical layout, deterministic
//! for a given seed and streamed, so that 10 million records need no more
//! memory than a thousand.

pub mod scenarios;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use datafusion::parquet::arrow::ArrowWriter;

use crate::base::record::{CaseRecord, Code, Codes, Perpetrators};
use crate::base::rng::Rng;
use crate::base::schema::INPUT_COLUMNS;
use crate::base::vocab;
use crate::error::{Error, Result};
use scenarios::{SCENARIOS, Scenario};

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub records: u64,
    pub seed: u64,
    pub countries: Vec<String>,
    pub first_year: i32,
    pub last_year: i32,
    pub out: PathBuf,
    /// Write the export in this layout (CSV only) instead of the canonical one.
    pub layout: Option<crate::input::mapping::MappingSpec>,
    /// Registration periods and UN regions instead of years and countries,
    /// as aggregated registers publish them (`generate --coarse`).
    pub coarse: bool,
    pub show_progress: bool,
}

#[derive(Clone, Copy)]
enum Lang {
    En,
    Es,
    Fr,
}

fn weights_for(country: &str, year_index: i32) -> Vec<f64> {
    SCENARIOS
        .iter()
        .map(|s| {
            let base = match country {
                "US" => s.weight[0],
                "MX" => s.weight[1],
                "CA" => s.weight[2],
                _ => s.weight.iter().sum::<f64>() / 3.0,
            };
            base * s.trend.powi(year_index)
        })
        .collect()
}

fn pick_codes(rng: &mut Rng, table: &[(&str, f64)], max: usize) -> Codes {
    let n = 1 + rng.below(max);
    let weights: Vec<f64> = table.iter().map(|(_, w)| *w).collect();
    rng.weighted_distinct(&weights, n)
        .into_iter()
        .map(|i| Code::from(table[i].0.to_string()))
        .collect()
}

/// The perpetrators of a generated case, after its scenario's trafficker
/// profile. Two in five cases record nothing about them, as is common in
/// hotline data.
fn perpetrators(
    rng: &mut Rng,
    scenario: &Scenario,
    is_sex: bool,
    country: &str,
    citizenship: Option<&str>,
) -> Perpetrators {
    if rng.chance(0.4) {
        return Perpetrators::default();
    }
    let profile = scenarios::trafficker_profile(scenario.key);
    let count = 1 + rng.weighted(&[60.0, 25.0, 10.0, 5.0]);
    let mut genders = Vec::new();
    let mut ages = Vec::new();
    let mut citizenships = Vec::new();
    for _ in 0..count {
        genders.push(if rng.chance(profile.female) {
            "female"
        } else {
            "male"
        });
        let w: Vec<f64> = scenarios::PERPETRATOR_AGES.iter().map(|a| a.1).collect();
        ages.push(scenarios::PERPETRATOR_AGES[rng.weighted(&w)].0);
        // most traffickers share the victim's citizenship or the country's
        citizenships.push(match rng.unit() {
            u if u < 0.5 => citizenship.unwrap_or(country).to_string(),
            u if u < 0.85 => country.to_string(),
            _ => rng.pick(scenarios::origins(country)).to_string(),
        });
    }
    let in_order = |mut codes: Vec<&str>, order: &[&str]| {
        codes.sort_by_key(|c| order.iter().position(|o| o == c));
        codes.dedup();
        Some(
            codes
                .into_iter()
                .map(|c| Code::from(c.to_string()))
                .collect::<Codes>(),
        )
    };
    citizenships.sort();
    citizenships.dedup();
    let relations = pick_codes(rng, profile.relations, count.min(2));
    let roles = pick_codes(rng, profile.roles, count.min(2));
    let flag = |rng: &mut Rng, p: f64| (!rng.chance(0.35)).then(|| rng.chance(p));
    Perpetrators {
        count: (!rng.chance(0.1)).then_some(count as i32),
        roles: in_order(
            roles.iter().map(AsRef::as_ref).collect(),
            vocab::PERPETRATOR_ROLES,
        ),
        genders: in_order(genders, vocab::GENDERS),
        age_groups: (!rng.chance(0.3))
            .then(|| in_order(ages, vocab::PERPETRATOR_AGE_GROUPS))
            .flatten(),
        citizenships: (!rng.chance(0.2)).then_some(citizenships),
        relations: in_order(
            relations.iter().map(AsRef::as_ref).collect(),
            vocab::PERPETRATOR_RELATIONS,
        ),
        money_paid: flag(rng, if is_sex { 0.25 } else { 0.4 }),
        transaction: flag(rng, 0.15),
        control_abuse: flag(rng, if is_sex { 0.8 } else { 0.6 }),
    }
}

/// A record as an aggregated register publishes it: four in five years
/// become the five-year period holding them (counted from the first year;
/// the month goes with the year), and every place becomes its M49 region.
fn coarsened(mut record: CaseRecord, rng: &mut Rng, (first, last): (i32, i32)) -> CaseRecord {
    use crate::base::places::regions_of_country;
    if let Some(year) = record.year
        && rng.chance(0.8)
    {
        let from = first + (year - first) / 5 * 5;
        let to = (from + 4).min(last);
        if from < to {
            record.year = None;
            record.period = Some((from, to));
            record.month = None;
        }
    }
    let region = |country: Option<&str>| {
        country
            .and_then(|c| regions_of_country(c).0)
            .map(str::to_string)
    };
    record.exploitation_area = region(record.exploitation_country.as_deref());
    record.exploitation_country = None;
    record.exploitation_subdivision = None;
    record.citizenship_area = region(record.citizenship.as_deref());
    record.citizenship = None;
    if let Some(citizenships) = &record.perpetrators.citizenships {
        let mut regions: Vec<String> = citizenships
            .iter()
            .filter_map(|c| region(Some(c)))
            .collect();
        regions.sort();
        regions.dedup();
        record.perpetrators.citizenships = Some(regions);
    }
    record
}

/// Makes records one at a time.
struct Generator {
    rng: Rng,
    countries: Vec<String>,
    first_year: i32,
    /// Scenario weights per country and year.
    weights: Vec<Vec<Vec<f64>>>,
    year_weights: Vec<f64>,
    counters: Vec<u64>,
    previous: Option<CaseRecord>,
    /// A stream of its own for what came after the first fields (the
    /// perpetrators, and coarsening for `--coarse`), so that adding them
    /// left every other generated value (and the tests built on them) as
    /// it was.
    perpetrator_rng: Rng,
    /// `Some((first, last))` year when places and years are coarsened.
    coarse: Option<(i32, i32)>,
}

impl Generator {
    fn new(options: &GenerateOptions) -> Self {
        let years = options.last_year - options.first_year + 1;
        Generator {
            rng: Rng::new(options.seed),
            countries: options.countries.clone(),
            first_year: options.first_year,
            weights: options
                .countries
                .iter()
                .map(|c| (0..years).map(|y| weights_for(c, y)).collect())
                .collect(),
            // hotline volumes grow over the decade
            year_weights: (0..years).map(|y| 1.06f64.powi(y)).collect(),
            counters: vec![0; options.countries.len()],
            previous: None,
            perpetrator_rng: Rng::new(options.seed ^ 0x5045_5250_4554_5241),
            coarse: options
                .coarse
                .then_some((options.first_year, options.last_year)),
        }
    }

    fn next_record(&mut self) -> CaseRecord {
        let rng = &mut self.rng;
        // some victims share a case with the previous record: same country,
        // year, place and situation
        if let Some(prev) = &self.previous
            && rng.chance(0.12)
        {
            let country_index = self
                .countries
                .iter()
                .position(|c| *c == prev.reporting_country)
                .unwrap_or(0);
            self.counters[country_index] += 1;
            let mut r = prev.clone();
            r.record_id = format!(
                "{}-{:07}",
                r.reporting_country, self.counters[country_index]
            );
            r.age_band = None;
            r.majority_status = None;
            self.previous = Some(r.clone());
            return r;
        }
        let ci = rng.below(self.countries.len());
        let country = self.countries[ci].clone();
        self.counters[ci] += 1;
        let yi = rng.weighted(&self.year_weights);
        let scenario: &Scenario = &SCENARIOS[rng.weighted(&self.weights[ci][yi])];
        let form =
            scenario.forms[rng.weighted(&scenario.forms.iter().map(|f| f.1).collect::<Vec<_>>())].0;
        let is_sex = form == "sex" || form == "sex_and_labor";

        let lang = match country.as_str() {
            "MX" => Lang::Es,
            "CA" if rng.chance(0.3) => Lang::Fr,
            _ => Lang::En,
        };
        let venues = match lang {
            Lang::En => scenario.en,
            Lang::Es => scenario.es,
            Lang::Fr => scenario.fr,
        };
        let venue = if venues.is_empty() {
            None
        } else {
            let text = *rng.pick(venues);
            // typing as it comes: sometimes all caps, sometimes lower case
            Some(match rng.below(10) {
                0 => text.to_uppercase(),
                1 => text.to_lowercase(),
                _ => text.to_string(),
            })
        };
        let sectors = (!scenario.sectors.is_empty() && rng.chance(0.85)).then(|| {
            scenario
                .sectors
                .iter()
                .map(|s| Code::from(s.to_string()))
                .collect()
        });

        let exploitation_country = if rng.chance(0.04) {
            None
        } else {
            Some(country.clone())
        };
        let subdivision = match (&exploitation_country, lang) {
            (Some(_), Lang::Fr) => Some("CA-QC".to_string()),
            (Some(c), _) if rng.chance(0.8) => scenarios::subdivisions(c).first().map(|_| {
                let subs = scenarios::subdivisions(c);
                subs[rng.below(subs.len())].to_string()
            }),
            _ => None,
        };
        let citizenship = if rng.chance(0.15) {
            None
        } else if rng.chance(scenario.foreign) {
            Some(rng.pick(scenarios::origins(&country)).to_string())
        } else {
            Some(country.clone())
        };
        let gender = match rng.unit() {
            u if u < 0.04 => None,
            u if u < 0.06 => Some("gender_minority"),
            _ if rng.chance(scenario.female) => Some("female"),
            _ => Some("male"),
        };
        let age_band = if rng.chance(0.12) {
            None
        } else if rng.chance(scenario.minor) {
            Some(if rng.chance(0.1) { "0-8" } else { "9-17" })
        } else {
            let w: Vec<f64> = scenarios::ADULT_BANDS.iter().map(|b| b.1).collect();
            Some(scenarios::ADULT_BANDS[rng.weighted(&w)].0)
        };
        let (recruit, relations, control) = if is_sex {
            (
                scenarios::SEX_RECRUITMENT,
                scenarios::SEX_RELATIONS,
                scenarios::SEX_CONTROL,
            )
        } else {
            (
                scenarios::LABOR_RECRUITMENT,
                scenarios::LABOR_RELATIONS,
                scenarios::LABOR_CONTROL,
            )
        };
        let recruitment_tactics = (!rng.chance(0.45)).then(|| pick_codes(rng, recruit, 2));
        let max_relations = if rng.chance(0.1) { 2 } else { 1 };
        let recruiter_relations =
            (!rng.chance(0.5)).then(|| pick_codes(rng, relations, max_relations));
        let control_methods = (!rng.chance(0.3)).then(|| pick_codes(rng, control, 4));
        let abduction = match rng.unit() {
            u if u < 0.55 => None,
            u if u < 0.58 => Some(true),
            _ => Some(false),
        };
        let perpetrators = perpetrators(
            &mut self.perpetrator_rng,
            scenario,
            is_sex,
            &country,
            citizenship.as_deref(),
        );
        let year = self.first_year + yi as i32;
        let record_id = format!("{}-{:07}", country, self.counters[ci]);
        let record = CaseRecord {
            case_id: record_id.clone(),
            record_id,
            data_source: Some(format!("{country} hotline (synthetic)")),
            reporting_country: country.into(),
            year: Some(year),
            period: None,
            month: (!rng.chance(0.03)).then(|| 1 + rng.below(12) as i32),
            exploitation_country: exploitation_country.map(Code::from),
            exploitation_area: None,
            exploitation_subdivision: subdivision,
            citizenship: citizenship.map(Code::from),
            citizenship_area: None,
            gender: gender.map(|g| Code::from(g.to_string())),
            age_band: age_band.map(|b| Code::from(b.to_string())),
            majority_status: age_band.map(|b| {
                if b == "0-8" || b == "9-17" {
                    "minor"
                } else {
                    "adult"
                }
                .to_string()
                .into()
            }),
            trafficking_form: form.to_string().into(),
            sectors,
            venue,
            recruitment_tactics,
            recruiter_relations,
            control_methods,
            abduction,
            perpetrators,
        };
        let record = match self.coarse {
            Some(years) => coarsened(record, &mut self.perpetrator_rng, years),
            None => record,
        };
        self.previous = Some(record.clone());
        record
    }
}

enum Sink {
    Csv(csv::Writer<BufWriter<File>>),
    Mapped(
        csv::Writer<BufWriter<File>>,
        crate::input::mapping::inverse::Inverse,
    ),
    Jsonl(BufWriter<File>),
    Parquet(ArrowWriter<File>, Vec<CaseRecord>),
}

impl Sink {
    fn create(path: &Path, layout: Option<&crate::input::mapping::MappingSpec>) -> Result<Self> {
        let name = path.to_string_lossy().to_ascii_lowercase();
        if let Some(spec) = layout {
            if !name.ends_with(".csv") {
                return Err(Error::Usage(
                    "an export in a mapped layout is written as CSV; name the output .csv".into(),
                ));
            }
            let inverse = crate::input::mapping::inverse::Inverse::new(spec, path)?;
            let file = File::create(path).map_err(|e| Error::io(path, e))?;
            let mut w = csv::Writer::from_writer(BufWriter::new(file));
            w.write_record(inverse.header())
                .map_err(|e| Error::store(path, e.to_string()))?;
            return Ok(Sink::Mapped(w, inverse));
        }
        // the name is checked before the file is created, so a wrong name
        // never truncates an existing file
        if ![".jsonl", ".ndjson", ".parquet", ".csv"]
            .iter()
            .any(|e| name.ends_with(e))
        {
            return Err(Error::Usage(format!(
                "{}: output must end in .csv, .jsonl or .parquet",
                path.display()
            )));
        }
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        if name.ends_with(".jsonl") || name.ends_with(".ndjson") {
            Ok(Sink::Jsonl(BufWriter::new(file)))
        } else if name.ends_with(".parquet") {
            Ok(Sink::Parquet(
                ArrowWriter::try_new(file, crate::base::schema::input_schema(), None)?,
                Vec::new(),
            ))
        } else if name.ends_with(".csv") {
            let mut w = csv::Writer::from_writer(BufWriter::new(file));
            w.write_record(INPUT_COLUMNS)
                .map_err(|e| Error::store(path, e.to_string()))?;
            Ok(Sink::Csv(w))
        } else {
            Err(Error::Usage(format!(
                "{}: output must end in .csv, .jsonl or .parquet",
                path.display()
            )))
        }
    }

    fn write(&mut self, path: &Path, record: CaseRecord) -> Result<()> {
        match self {
            Sink::Csv(w) => w
                .write_record(record.to_flat())
                .map_err(|e| Error::store(path, e.to_string())),
            Sink::Mapped(w, inverse) => w
                .write_record(inverse.row(&record.to_flat()))
                .map_err(|e| Error::store(path, e.to_string())),
            Sink::Jsonl(w) => {
                let line = json_line(&record);
                writeln!(w, "{line}").map_err(|e| Error::io(path, e))
            }
            Sink::Parquet(w, buffer) => {
                buffer.push(record);
                if buffer.len() >= 8192 {
                    w.write(&crate::base::batch::input_batch(buffer)?)?;
                    buffer.clear();
                }
                Ok(())
            }
        }
    }

    fn finish(self, path: &Path) -> Result<()> {
        match self {
            Sink::Csv(mut w) | Sink::Mapped(mut w, _) => w.flush().map_err(|e| Error::io(path, e)),
            Sink::Jsonl(mut w) => w.flush().map_err(|e| Error::io(path, e)),
            Sink::Parquet(mut w, buffer) => {
                if !buffer.is_empty() {
                    w.write(&crate::base::batch::input_batch(&buffer)?)?;
                }
                w.close()?;
                Ok(())
            }
        }
    }
}

/// One JSON object per record, keys in canonical order, lists as arrays,
/// unknown values as null.
fn json_line(record: &CaseRecord) -> String {
    use serde_json::{Map, Value};
    let flat = record.to_flat();
    let mut object = Map::new();
    for (name, value) in INPUT_COLUMNS.iter().zip(flat) {
        let json = if value.is_empty() {
            Value::Null
        } else if crate::base::schema::LIST_COLUMNS.contains(name) {
            Value::Array(
                value
                    .split(';')
                    .map(|v| Value::String(v.to_string()))
                    .collect(),
            )
        } else if crate::base::schema::INTEGER_COLUMNS.contains(name) && !value.contains('-') {
            Value::Number(value.parse::<i64>().expect("generated number").into())
        } else if crate::base::schema::BOOLEAN_COLUMNS.contains(name) {
            Value::Bool(value == "true")
        } else {
            Value::String(value)
        };
        object.insert(name.to_string(), json);
    }
    Value::Object(object).to_string()
}

/// The generated records as an iterator, for benchmarks that need records
/// without a file.
pub fn records(options: &GenerateOptions) -> impl Iterator<Item = CaseRecord> {
    let mut generator = Generator::new(options);
    (0..options.records).map(move |_| generator.next_record())
}

pub fn generate(options: &GenerateOptions) -> Result<u64> {
    if options.countries.is_empty() {
        return Err(Error::Usage("give at least one country".into()));
    }
    for c in &options.countries {
        if !crate::base::countries::is_alpha2(c) {
            return Err(Error::Usage(format!(
                "'{c}' is not an ISO 3166-1 alpha-2 country code"
            )));
        }
    }
    if options.first_year > options.last_year || options.first_year < 1990 {
        return Err(Error::Usage(
            "years must be a range like 2015-2024, from 1990 on".into(),
        ));
    }
    let mut generator = Generator::new(options);
    let mut sink = Sink::create(&options.out, options.layout.as_ref())?;
    let progress =
        crate::base::progress::Progress::rows(options.show_progress, options.records, "generate");
    for i in 0..options.records {
        sink.write(&options.out, generator.next_record())?;
        if i % 8192 == 0 {
            progress.set_position(i);
        }
    }
    progress.finish();
    sink.finish(&options.out)?;
    Ok(options.records)
}
