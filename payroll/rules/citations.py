"""The article each region's own 辅警 regulation provides for a payslip line, so that explain cites
the law of the person's region and never another's (a Nantong payslip does not cite Yunnan).

A rule names its family in `Rule.regional_basis`; `basis_for` adds the region's article to the
rule's national basis. Regions are matched by their GB/T 2260 code, the longest prefix first: the
province (2 digits), the city (4) or the code itself. Every article here was read in the texts in
`../shared/regulations/` (tests/test_citations.py checks that each one exists there):

- 内蒙古条例 = 内蒙古自治区公安机关警务辅助人员条例 (2022): art. 24 pay standard referenced to the
  average wage; art. 25 para. 1 social insurance and housing fund, para. 2 accident insurance for
  high-risk posts; art. 33 层级化管理.
- 鄂尔多斯指导意见 (2022): 三(三)2 层级化管理; 三(四)1 city-wide pay standard, social insurance,
  housing fund, accident insurance.
- 杭州规定 (2021): art. 13 层级化管理; art. 21 薪酬制度 by post performance and grade; art. 22 insurance,
  housing fund, accident insurance.
- 云南条例 (2024): art. 26 分类分级管理; art. 33 pay standard weighing 专业性、危险性、劳动强度; art. 34
  social and accident insurance (no housing fund); art. 35 para. 2 overtime paid or time off.
- 南通实施办法 (2023, to 2027-12-31): art. 7 para. 2 pay by 岗位职责 and 层级 with gaps, para. 3 the
  average-wage floor; art. 11 层级与薪酬待遇挂钩; art. 13 para. 1 social insurance and housing fund,
  para. 2 accident insurance by danger.
"""
from __future__ import annotations

INNER_MONGOLIA, ORDOS, HANGZHOU, YUNNAN, NANTONG = "15", "1506", "3301", "53", "3206"

REGIONAL_BASIS: dict[str, dict[str, str]] = {
    # pay by grade level (层级工资)
    "level_pay": {
        INNER_MONGOLIA: "内蒙古条例 art. 33 (层级化管理)",
        ORDOS: "内蒙古条例 art. 33; 鄂尔多斯指导意见 三(三)2 (层级化管理)",
        HANGZHOU: "杭州规定 arts. 13, 21 (层级化管理; 分级分类管理的薪酬制度)",
        YUNNAN: "云南条例 arts. 26, 33 (分类分级管理; 薪酬标准)",
        NANTONG: "南通实施办法 art. 7 para. 2, art. 11 (层级与薪酬待遇挂钩)",
    },
    # the other parts of the local pay standard: allowances, seniority, high-risk, night shifts
    "pay_standard": {
        INNER_MONGOLIA: "内蒙古条例 art. 24 (辅警薪酬标准)",
        ORDOS: "内蒙古条例 art. 24; 鄂尔多斯指导意见 三(四)1 (全市辅警薪酬标准)",
        HANGZHOU: "杭州规定 art. 21 (薪酬制度)",
        YUNNAN: "云南条例 art. 33 (岗位专业性、危险性、劳动强度)",
        NANTONG: "南通实施办法 art. 7 para. 2 (工资水平、基本构成)",
    },
    # pay tied to the annual appraisal (考核结果与薪酬挂钩): rules/performance_pay.py (issue 16)
    "appraisal_pay": {
        INNER_MONGOLIA: "内蒙古条例 art. 33 (考核晋升)",
        ORDOS: "内蒙古条例 art. 33; 鄂尔多斯指导意见 三(三)2 (考核、晋升、降级、奖惩、优抚、薪酬调整)",
        HANGZHOU: "杭州规定 art. 15 (年度考核)",
        YUNNAN: "云南条例 art. 28 para. 2 (考核结果…与其薪酬挂钩)",
        NANTONG: "南通实施办法 art. 11 (层级与薪酬待遇挂钩)",
    },
    "overtime": {
        YUNNAN: "云南条例 art. 35 para. 2 (延长工作时间给予相应报酬或者安排补休)",
    },
    "social_insurance": {
        INNER_MONGOLIA: "内蒙古条例 art. 25 para. 1",
        ORDOS: "内蒙古条例 art. 25 para. 1; 鄂尔多斯指导意见 三(四)1",
        HANGZHOU: "杭州规定 art. 22",
        YUNNAN: "云南条例 art. 34",
        NANTONG: "南通实施办法 art. 13 para. 1",
    },
    "housing_fund": {
        INNER_MONGOLIA: "内蒙古条例 art. 25 para. 1",
        ORDOS: "内蒙古条例 art. 25 para. 1; 鄂尔多斯指导意见 三(四)1",
        HANGZHOU: "杭州规定 art. 22",
        NANTONG: "南通实施办法 art. 13 para. 1",
    },
    "accident_insurance": {
        INNER_MONGOLIA: "内蒙古条例 art. 25 para. 2 (高危险岗位)",
        ORDOS: "内蒙古条例 art. 25 para. 2; 鄂尔多斯指导意见 三(四)1 (高危险岗位)",
        HANGZHOU: "杭州规定 art. 22 (公共交通意外伤害保险; 危险程度较高岗位)",
        YUNNAN: "云南条例 art. 34 (根据岗位危险性)",
        NANTONG: "南通实施办法 art. 13 para. 2 (根据岗位的危险性)",
    },
}


def regional_article(family: str, region_code: str | None) -> str:
    """The region's own article for a family of lines, or "" where its regulation has none."""
    if not family or not region_code:
        return ""
    articles = REGIONAL_BASIS[family]
    for length in (6, 4, 2):
        found = articles.get(str(region_code)[:length])
        if found:
            return found
    return ""


def basis_for(basis: str, family: str, region_code: str | None) -> str:
    """The rule's national basis with the region's own article after it."""
    article = regional_article(family, region_code)
    return f"{basis}; {article}" if basis and article else (article or basis)
