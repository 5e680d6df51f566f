/** Vietnamese (and a few English) names the simulated world draws from. */

export const SHOP_KINDS = [
  "Tạp hóa",
  "Cà phê",
  "Nhà thuốc",
  "Thời trang",
  "Điện máy",
  "Mỹ phẩm",
  "Nhà sách",
  "Bánh mì",
];
export const SHOP_NAMES = [
  "Minh Anh",
  "Hoàng Long",
  "Thu Trang",
  "Phúc An",
  "Bảo Ngọc",
  "Gia Huy",
  "Hạnh Phúc",
  "Sao Mai",
];
export const BANKS = [
  "Vietcombank",
  "Techcombank",
  "BIDV",
  "VietinBank",
  "MB Bank",
  "ACB",
  "VPBank",
  "TPBank",
];
export const WALLETS = ["MoMo", "ZaloPay", "ShopeePay", "VNPay"];
export const VENDOR_NAMES = [
  "Công ty TNHH Thực phẩm Sài Gòn",
  "Công ty CP Phân phối Hà Nội",
  "Nhà phân phối Đại Việt",
  "Công ty TNHH Hàng tiêu dùng Phương Nam",
  "Tổng kho Miền Trung",
  "Công ty CP Dược phẩm An Khang",
  "Xưởng may Thành Công",
  "Công ty TNHH Điện tử Bình Minh",
  "Đại lý Nước giải khát Tân Hiệp",
  "Công ty CP Bao bì Việt Thắng",
];
export const FAMILY = [
  "Nguyễn",
  "Trần",
  "Lê",
  "Phạm",
  "Hoàng",
  "Huỳnh",
  "Phan",
  "Vũ",
  "Võ",
  "Đặng",
  "Bùi",
  "Đỗ",
];
export const MIDDLE = ["Văn", "Thị", "Minh", "Ngọc", "Đức", "Thanh", "Quốc", "Thu", "Hữu", "Gia"];
export const GIVEN = [
  "An",
  "Bình",
  "Chi",
  "Dũng",
  "Hà",
  "Hải",
  "Hương",
  "Khoa",
  "Lan",
  "Long",
  "Mai",
  "Nam",
  "Phương",
  "Quân",
  "Tâm",
  "Trang",
  "Tuấn",
  "Vy",
];
export const ADJUST_REASONS = [
  "Kiểm kê định kỳ",
  "Hàng hỏng, hết hạn",
  "Stock count correction",
  "Đánh giá lại giá vốn",
  "Hàng mất",
  "Nhập bù hàng thiếu",
  "Revaluation after supplier price change",
];

/** A zero-padded six-digit document number: 42 → "000042". */
export const pad6 = (n: number) => String(n).padStart(6, "0");
