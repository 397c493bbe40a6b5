//! `list`, `requirements`, `schema`, `openapi`: the profile shown to people and tools.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::table::Table;
use crate::lang::Lang;
use crate::profile::{Profile, openapi};

fn print_json(value: &Value) -> Result<ExitCode, String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    super::stdout(&format!("{text}\n"));
    Ok(ExitCode::SUCCESS)
}

pub fn list(profile: &Profile, as_json: bool) -> Result<ExitCode, String> {
    if as_json {
        let entries: Vec<Value> = profile
            .interfaces
            .iter()
            .map(|i| {
                json!({
                    "section": i.section,
                    "id": i.id,
                    "name_zh": i.name_zh,
                    "name_en": i.name_en,
                    "required": i.required,
                    "path": i.path,
                    "requirements": i.requirements,
                    "batch_param": i.batch_param,
                    "request_schema": i.request,
                    "result_schema": i.result,
                })
            })
            .collect();
        return print_json(&Value::Array(entries));
    }
    let lang = crate::lang::chosen();
    let mut header = vec!["§", "id"];
    if lang != Some(Lang::En) {
        header.push("中文名");
    }
    if lang != Some(Lang::Zh) {
        header.push("name");
    }
    header.extend(["R/O", "path"]);
    let mut table = Table::new(header);
    for i in &profile.interfaces {
        let mut row = vec![i.section.clone(), i.id.clone()];
        if lang != Some(Lang::En) {
            row.push(i.name_zh.clone());
        }
        if lang != Some(Lang::Zh) {
            row.push(i.name_en.clone());
        }
        let set = if i.required {
            crate::lang::tr("R 必需", "R required", lang)
        } else {
            crate::lang::tr("O 非必需", "O optional", lang)
        };
        row.extend([set, i.path.clone()]);
        table.row(row);
    }
    super::stdout(&table.render());
    let required = profile.interfaces.iter().filter(|i| i.required).count();
    let (all, optional) = (
        profile.interfaces.len(),
        profile.interfaces.len() - required,
    );
    super::stdout(&format!(
        "{}\n",
        crate::lang::tr(
            &format!("{all} 个接口：{required} 个必需，{optional} 个非必需"),
            &format!("{all} interfaces: {required} required, {optional} optional"),
            lang
        )
    ));
    Ok(ExitCode::SUCCESS)
}

pub fn requirements(profile: &Profile, as_json: bool) -> Result<ExitCode, String> {
    if as_json {
        let entries: Vec<Value> = profile
            .requirements
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "section": r.section,
                    "level": r.level.as_str(),
                    "set": r.set.as_str(),
                    "text_zh": r.text_zh,
                    "text_en": r.text_en,
                    "source": r.source,
                })
            })
            .collect();
        return print_json(&Value::Array(entries));
    }
    let lang = crate::lang::chosen();
    let mut table = Table::new([
        "id",
        "§",
        "level",
        "set",
        &crate::lang::pick("要求 / requirement", lang),
    ]);
    for r in &profile.requirements {
        table.row(vec![
            r.id.clone(),
            r.section.clone(),
            r.level.as_str().to_string(),
            r.set.as_str().to_string(),
            match lang {
                Some(Lang::Zh) => r.text_zh.clone(),
                Some(Lang::En) => r.text_en.clone(),
                None => format!("{} / {}", r.text_zh, r.text_en),
            },
        ]);
    }
    super::stdout(&table.render());
    Ok(ExitCode::SUCCESS)
}

pub fn schema(profile: &Profile, id: &str, request: bool) -> Result<ExitCode, String> {
    let interface = profile.interface(id).ok_or_else(|| {
        format!("未知接口 unknown interface {id:?}; `mallcheck list` shows the ids")
    })?;
    let path = if request {
        &interface.request
    } else {
        &interface.result
    };
    let document = profile
        .schema_document(path)
        .ok_or_else(|| format!("schema {path} missing from the profile"))?;
    print_json(document)
}

pub fn openapi(profile: &Profile) -> Result<ExitCode, String> {
    print_json(&openapi::document(profile))
}
